/// A compiled parameter schema: the root node plus a table of every subschema by its location, which is
/// what local `$ref`s (`#/$defs/sample`) resolve against.
public struct JSONSchema: Sendable {
    public let root: SchemaNode
    let nodesByLocation: [JSONPointer: SchemaNode]

    /// The schema exactly as written, for clients that want to validate before they submit.
    public var document: JSONValue { root.raw }

    /// Compiles a schema document, reporting every problem at once.
    public init(_ document: JSONValue) throws(SchemaCompileError) {
        var compiler = SchemaCompiler()
        let root = compiler.compile(document, at: .root)
        compiler.checkReferences()
        guard compiler.issues.isEmpty else { throw SchemaCompileError(issues: compiler.issues) }
        self.root = root
        self.nodesByLocation = compiler.nodes
        let problems = checkDefaults()
        guard problems.isEmpty else { throw SchemaCompileError(issues: problems) }
    }

    /// The node a `$ref` points at (existence was checked at compile time).
    func resolve(_ ref: JSONPointer) -> SchemaNode { nodesByLocation[ref]! }

    /// Every node of the schema, in a stable order (by location).
    public var allNodes: [SchemaNode] { nodesByLocation.keys.sorted().map { nodesByLocation[$0]! } }

    /// A `default` that its own schema rejects would be applied to every request and then fail it: a
    /// catalog bug that must show at load time, with its place in the file.
    private func checkDefaults() -> [SchemaIssue] {
        var issues: [SchemaIssue] = []
        for node in allNodes {
            guard let value = node.defaultValue else { continue }
            let errors = SchemaValidator(schema: self).errors(of: value, against: node)
            for error in errors {
                issues.append(SchemaIssue(
                    location: node.location.appending("default"),
                    message: "the default value does not satisfy its own schema: \(error.pointer == .root ? "" : "\(error.pointer): ")\(error.message)"))
            }
        }
        return issues
    }
}

/// One problem in a schema document, addressed by its place in the document.
public struct SchemaIssue: Sendable, Hashable {
    /// Where in the schema document (`/properties/caller/enum`).
    public let location: JSONPointer
    public let message: String
}

/// Every problem found while compiling a schema.
public struct SchemaCompileError: Error, Sendable, CustomStringConvertible {
    public let issues: [SchemaIssue]
    public var description: String {
        issues.map { "schema\($0.location): \($0.message)" }.joined(separator: "\n")
    }
}
