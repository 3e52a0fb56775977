/// A place in a file, printed as `file:line:column` so editors and terminals can jump to it.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let column: Int?

    public init(file: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        guard let line else { return file }
        guard let column else { return "\(file):\(line)" }
        return "\(file):\(line):\(column)"
    }
}

/// A problem in a configuration or catalog file, with where it is and what to change.
public struct FileIssue: Sendable, Hashable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// One or more problems that stopped a load; nothing of the load is used when this is thrown.
public struct LoadError: Error, Sendable, CustomStringConvertible {
    public let issues: [FileIssue]

    public init(_ issues: [FileIssue]) { self.issues = issues }
    public init(_ location: SourceLocation, _ message: String) { self.issues = [FileIssue(location, message)] }

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
