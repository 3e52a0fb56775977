import Foundation

/// Every pipeline a site offers, loaded from `config/pipelines/*.yaml`.
///
/// A catalog loads completely or not at all: one broken file stops the load with every problem of every
/// file listed, so a service never runs half a catalog and an author fixes all mistakes in one go.
public struct PipelineCatalog: Sendable {
    public let directory: String
    public let pipelines: [String: Pipeline]

    public init(directory: String, pipelines: [String: Pipeline]) {
        self.directory = directory
        self.pipelines = pipelines
    }

    /// The pipelines sorted by name.
    public var sorted: [Pipeline] { pipelines.keys.sorted().map { pipelines[$0]! } }

    /// A pipeline by name, or an error that lists what exists.
    public func pipeline(named name: String) throws -> Pipeline {
        guard let pipeline = pipelines[name] else {
            throw LoadError(SourceLocation(file: directory),
                            "no pipeline \"\(name)\"\(EditDistance.hint(for: name, among: pipelines.keys.sorted())); the catalog has \(pipelines.keys.sorted().joined(separator: ", "))")
        }
        return pipeline
    }

    /// Loads every `*.yaml` / `*.yml` file of a directory.
    public static func load(directory: String) throws -> PipelineCatalog {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        } catch {
            throw LoadError(SourceLocation(file: directory), "cannot list the catalog directory: \(error.localizedDescription); check the catalogs path in the config or --catalog")
        }
        guard !names.isEmpty else { throw LoadError(SourceLocation(file: directory), "contains no pipeline files (*.yaml)") }
        var issues: [FileIssue] = []
        var pipelines: [String: Pipeline] = [:]
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                let pipeline = try loadPipeline(path: path)
                if let existing = pipelines[pipeline.name] {
                    issues.append(FileIssue(SourceLocation(file: path), "pipeline \"\(pipeline.name)\" is also defined in \(existing.file); names must be unique"))
                }
                pipelines[pipeline.name] = pipeline
            } catch let error as LoadError {
                issues.append(contentsOf: error.issues)
            }
        }
        guard issues.isEmpty else { throw LoadError(issues) }
        return PipelineCatalog(directory: directory, pipelines: pipelines)
    }

    /// Loads one pipeline file.
    public static func loadPipeline(path: String) throws -> Pipeline {
        let document = try YAMLDocument(contentsOf: path)
        let (value, shapeIssues) = FileFormats.check(document, against: FileFormats.pipeline)
        guard shapeIssues.isEmpty else { throw LoadError(shapeIssues) }
        var reader = PipelineFileReader(document: document)

        let name = value["name"]!.stringValue!
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        if name != stem {
            reader.issue(["name"], "the pipeline is named \"\(name)\" but its file is \(stem).yaml; rename one so they match")
        }
        let schema = reader.schema(value["parameters"]!, at: ["parameters"], what: "the parameter schema", mustBe: "a request's parameters are an object")
        let sheet = value["sample_sheet"].flatMap { reader.schema($0, at: ["sample_sheet"], what: "the sample sheet's row schema", mustBe: "each row is an object") }
        if let sheet, sheet.root.properties[SampleSheet.keyField] == nil || !sheet.root.required.contains(SampleSheet.keyField) {
            reader.issue(["sample_sheet"], "the row schema must declare \(SampleSheet.keyField) under properties and required: it names each row's task, outputs and logs")
        }

        let topResources = value["resources"].flatMap { reader.resources($0, at: ["resources"]) }
        var steps: [PipelineStep] = []
        if let declared = value["steps"]?.arrayValue {
            for (i, entry) in declared.enumerated() {
                let at = ["steps", String(i)]
                let resources = entry["resources"].flatMap { reader.resources($0, at: at + ["resources"]) } ?? topResources
                if entry["resources"] == nil, topResources == nil {
                    reader.issue(at, "step \"\(entry["name"]!.stringValue!)\" has no resources and the pipeline declares none at the top to fall back on")
                }
                let scatter = entry["scatter"]?.stringValue.flatMap(PipelineStep.Scatter.init(rawValue:))
                if scatter != nil, sheet == nil {
                    reader.issue(at + ["scatter"], "scatters over the sample sheet, but the pipeline declares no sample_sheet row schema")
                }
                steps.append(PipelineStep(
                    name: entry["name"]!.stringValue!, title: entry["title"]?.stringValue, template: entry["template"]!.stringValue!,
                    resources: resources ?? PipelineFileReader.unusable, needs: entry["needs"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                    scatter: scatter, outputs: reader.outputs(entry["outputs"], at: at + ["outputs"], parameters: schema)))
            }
        } else {
            steps.append(PipelineStep(name: PipelineStep.implicitName, template: value["template"]!.stringValue!,
                                      resources: topResources ?? PipelineFileReader.unusable,
                                      outputs: reader.outputs(value["outputs"], at: ["outputs"], parameters: schema)))
        }

        var graph: PipelineGraph?
        switch PipelineGraph.build(steps: steps.map { ($0.name, $0.needs) }) {
        case .success(let built): graph = built
        case .failure(let error):
            for problem in error.problems {
                reader.issue(["steps", String(problem.step)] + (problem.need.map { ["needs", String($0)] } ?? ["name"]), problem.message)
            }
        }
        if graph != nil, let schema {
            reader.checkOutputReferences(steps: steps, parameters: schema, sampleSheet: sheet, declared: value["steps"] != nil)
        }

        guard reader.issues.isEmpty, let schema, let graph else { throw LoadError(reader.issues) }
        return Pipeline(
            name: name, version: value["version"]!.stringValue!, title: value["title"]?.stringValue,
            description: value["description"]!.stringValue!, steps: steps, graph: graph, sampleSheet: sheet,
            parameters: schema, file: path, source: document)
    }
}
