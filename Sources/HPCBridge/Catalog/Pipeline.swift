/// One pipeline of the catalog: what a research group may run, with which parameters and resources.
///
/// Today a pipeline is one batch script (one step, one sample or one design). The job model keeps room
/// for a list of steps chained with scheduler dependencies and for sample sheets as job arrays; a
/// single-step pipeline is then the one-element case, so nothing here will need to be thrown away.
public struct Pipeline: Sendable {
    /// A file the pipeline promises to leave in the run directory.
    public struct Output: Sendable, Hashable {
        public let name: String
        /// Relative to the run directory; may contain `{{params.NAME}}`.
        public let pathTemplate: String
        public let description: String
        /// A parameter (`params.design`) that must be set for this output to exist.
        public let condition: String?
    }

    public let name: String
    public let version: String
    public let title: String?
    public let description: String
    /// The body template, relative to the templates directory.
    public let template: String
    public let resources: ResourcePolicy
    public let outputs: [Output]
    public let parameters: JSONSchema
    /// The catalog file, for messages.
    public let file: String
    /// The parsed catalog file, so cross-checks can point at lines without reading it again.
    public let source: YAMLDocument

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
