/// One reason a request's parameters were refused: where (a JSON Pointer into the parameters) and why,
/// in words a biologist can act on.
public struct ValidationError: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let pointer: JSONPointer
    public let message: String

    public init(pointer: JSONPointer, message: String) {
        self.pointer = pointer
        self.message = message
    }

    /// `POINTER: message`, the line format of `hpcbridge check-params`. The root pointer prints as `/`.
    public var description: String { "\(pointer == .root ? "/" : pointer.description): \(message)" }

    public static func < (lhs: ValidationError, rhs: ValidationError) -> Bool {
        (lhs.pointer, lhs.message) < (rhs.pointer, rhs.message)
    }

    enum CodingKeys: String, CodingKey { case pointer, message }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let text = try c.decode(String.self, forKey: .pointer)
        self.pointer = JSONPointer(parsing: text) ?? .root
        self.message = try c.decode(String.self, forKey: .message)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(pointer.description, forKey: .pointer)
        try c.encode(message, forKey: .message)
    }
}

/// The outcome of validating a document: the document with defaults filled in, and every error.
public struct ValidationResult: Sendable {
    /// The input with each missing property that has a `default` filled in.
    public let value: JSONValue
    /// Every error, sorted by pointer; empty when the document is valid.
    public let errors: [ValidationError]
    /// Where the value holds a string that a path format accepted (`/fastq_files/0`), sorted: the values
    /// a research group's input roots must contain.
    public var paths: [JSONPointer] = []
    public var isValid: Bool { errors.isEmpty }
}

/// A refused document: every error, each with its pointer. Becomes HTTP 422 or exit status 1 at the edge.
public struct ValidationFailure: Error, Sendable, CustomStringConvertible {
    public let errors: [ValidationError]
    public init(_ errors: [ValidationError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
