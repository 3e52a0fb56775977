/// One pipeline of the catalog: what a research group may run, with which parameters and resources.
///
/// A pipeline is a list of steps chained by `needs` (each one batch script; a scatter step one job
/// array over the rows of a sample sheet). A catalog file without `steps` declares one step at its
/// top level; such a pipeline is what `POST /v1/jobs` runs, and `template`, `resources` and `outputs`
/// below are that step's.
public struct Pipeline: Sendable {
    /// A file the pipeline promises to leave in the run directory.
    public struct Output: Sendable, Hashable {
        public let name: String
        /// Relative to the run directory; may contain `{{params.NAME}}` (and `{{row.FIELD}}` in a
        /// scatter step).
        public let pathTemplate: String
        public let description: String
        /// A parameter (`params.design`) that must be set for this output to exist.
        public let condition: String?
        /// `pathTemplate` parsed once when the catalog loads, not on every submission (nil when it does
        /// not parse: the renderer then reports why).
        let pathRenderer: CompiledTemplate?

        public init(name: String, pathTemplate: String, description: String, condition: String?) {
            self.name = name
            self.pathTemplate = pathTemplate
            self.description = description
            self.condition = condition
            self.pathRenderer = try? CompiledTemplate(pathTemplate, escaping: .text)
        }

        public static func == (a: Output, b: Output) -> Bool {
            (a.name, a.pathTemplate, a.description, a.condition) == (b.name, b.pathTemplate, b.description, b.condition)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(name)
            hasher.combine(pathTemplate)
            hasher.combine(description)
            hasher.combine(condition)
        }
    }

    public let name: String
    public let version: String
    public let title: String?
    public let description: String
    /// The steps in the catalog's order (never empty); `graph` knows how they depend on each other.
    public let steps: [PipelineStep]
    public let graph: PipelineGraph
    /// The schema of one sample-sheet row, for pipelines that run over a sheet; rows are objects with
    /// a `sample_id`.
    public let sampleSheet: JSONSchema?
    public let parameters: JSONSchema
    /// The catalog file, for messages.
    public let file: String
    /// The parsed catalog file, so cross-checks can point at lines without reading it again.
    public let source: YAMLDocument

    /// True for a pipeline of one step that does not scatter and takes no sample sheet: what
    /// `POST /v1/jobs` accepts. Every other pipeline is submitted as a run.
    public var isSingleJob: Bool { steps.count == 1 && !steps[0].scatters && sampleSheet == nil }

    /// The body template of the first step (the only one of a single-job pipeline).
    public var template: String { steps[0].template }
    /// The resources of the first step (the only one of a single-job pipeline).
    public var resources: ResourcePolicy { steps[0].resources }
    /// The outputs of the first step (the only one of a single-job pipeline).
    public var outputs: [Output] { steps[0].outputs }

    /// The names step `index`'s template may use: its row's fields, and the outputs of the step itself
    /// and of every step it needs, directly or through others.
    public func names(forStep index: Int) -> TemplateLinter.StepNames {
        var upstream: [String: (outputs: Set<String>, perRow: Bool)] = [:]
        for ancestor in graph.ancestors(of: index).union([index]) {
            upstream[steps[ancestor].name] = (Set(steps[ancestor].outputs.map(\.name)), steps[ancestor].scatters)
        }
        return TemplateLinter.StepNames(rowFields: Set(sampleSheet.map { Array($0.root.properties.keys) } ?? []),
                                        scatters: steps[index].scatters, upstream: upstream)
    }

    /// A step by name.
    public func step(named name: String) -> PipelineStep? { steps.first { $0.name == name } }

    /// Validates a request's parameters: defaults applied, every error with its pointer.
    public func validate(parameters document: JSONValue) -> ValidationResult {
        SchemaValidator(schema: parameters).validate(document)
    }

    /// Parameters that name a site reference, with the registry kind they must name.
    public var referenceParameters: [(name: String, kind: String, node: SchemaNode)] {
        parameters.root.properties.keys.sorted().compactMap { name in
            let node = parameters.root.properties[name]!
            return node.referenceKind.map { (name, $0, node) }
        }
    }
}

extension Pipeline {
    /// The URI schemes its parameters and sample-sheet rows accept besides file paths (`x-uri-schemes` of
    /// its `format: uri` fields, such as `s3`): what GA4GH WES's service-info lists as filesystem protocols.
    public var uriSchemes: Set<String> {
        let nodes = Array(parameters.nodesByLocation.values) + Array(sampleSheet?.nodesByLocation.values ?? [:].values)
        return Set(nodes.flatMap { $0.uriSchemes ?? [] })
    }
}
