import Foundation
import Yams

/// A YAML file read into a `JSONValue`, remembering where each value was written.
///
/// Catalogs and config are YAML for people and JSON Schema for machines; errors must point back at
/// the line a person wrote. Scalars follow the YAML 1.2 core schema, not YAML 1.1: `NO`, `on` and `y`
/// stay text, so a salmon library type or a country code cannot turn into a boolean.
public struct YAMLDocument: Sendable {
    public let path: String
    public let value: JSONValue
    private let marks: [JSONPointer: (line: Int, column: Int)]

    /// Reads and parses a file. Throws a `LoadError` naming the file and position.
    public init(contentsOf path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw LoadError(SourceLocation(file: path), "cannot read the file: \(error.localizedDescription); check the path and its permissions")
        }
        try self.init(text: text, path: path)
    }

    /// Parses YAML text; `path` is used in messages only.
    public init(text: String, path: String) throws {
        self.path = path
        let node: Node?
        do {
            node = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw LoadError([Self.issue(from: error, path: path)])
        }
        var marks: [JSONPointer: (line: Int, column: Int)] = [:]
        var issues: [FileIssue] = []
        self.value = node.map { Self.convert($0, at: .root, path: path, marks: &marks, issues: &issues) } ?? .null
        self.marks = marks
        guard issues.isEmpty else { throw LoadError(issues) }
    }

    /// Where the value at `pointer` (or its closest written ancestor) is in the file.
    public func location(of pointer: JSONPointer) -> SourceLocation {
        var tokens = pointer.tokens
        while true {
            if let mark = marks[JSONPointer(tokens: tokens)] { return SourceLocation(file: path, line: mark.line, column: mark.column) }
            if tokens.isEmpty { return SourceLocation(file: path) }
            tokens.removeLast()
        }
    }

    private static func convert(_ node: Node, at pointer: JSONPointer, path: String,
                                marks: inout [JSONPointer: (line: Int, column: Int)], issues: inout [FileIssue]) -> JSONValue {
        if marks[pointer] == nil, let mark = node.mark { marks[pointer] = (mark.line, mark.column) }
        switch node {
        case .scalar(let scalar):
            return resolve(scalar)
        case .sequence(let sequence):
            return .array(sequence.enumerated().map { convert($0.element, at: pointer.appending($0.offset), path: path, marks: &marks, issues: &issues) })
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, value) in mapping {
                let here = SourceLocation(file: path, line: key.mark?.line, column: key.mark?.column)
                guard case .scalar(let keyScalar) = key else {
                    issues.append(FileIssue(here, "a key must be plain text"))
                    continue
                }
                let name = keyScalar.string
                let child = pointer.appending(name)
                if members[name] != nil {
                    issues.append(FileIssue(here, "the key \"\(name)\" appears twice in the same mapping; keep one"))
                    continue
                }
                if let mark = key.mark { marks[child] = (mark.line, mark.column) }
                members[name] = convert(value, at: child, path: path, marks: &marks, issues: &issues)
            }
            return .object(members)
        case .alias:
            let mark = node.mark
            issues.append(FileIssue(SourceLocation(file: path, line: mark?.line, column: mark?.column),
                                    "YAML aliases (*name) are not supported here; write the value out"))
            return .null
        }
    }

    /// YAML 1.2 core schema resolution of a scalar; quoted scalars and `!!str` are always text.
    static func resolve(_ scalar: Node.Scalar) -> JSONValue {
        let s = scalar.string
        if scalar.style != .plain || scalar.tag.description == "tag:yaml.org,2002:str" { return .string(s) }
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .number(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .number(-.infinity)
        case ".nan", ".NaN", ".NAN": return .number(.nan)
        default: break
        }
        if s.hasPrefix("0x"), let n = Int64(s.dropFirst(2), radix: 16) { return .number(Double(n)) }
        if s.hasPrefix("0o"), let n = Int64(s.dropFirst(2), radix: 8) { return .number(Double(n)) }
        let numberPattern = /[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?/
        if s.wholeMatch(of: numberPattern) != nil, let n = Double(s) { return .number(n) }
        return .string(s)
    }

    private static func issue(from error: YamlError, path: String) -> FileIssue {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let detail = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return FileIssue(SourceLocation(file: path, line: mark.line, column: mark.column), "YAML syntax error: \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return FileIssue(SourceLocation(file: path, line: context.mark.line, column: context.mark.column),
                             "the keys \(duplicates.joined(separator: ", ")) appear twice in the same mapping; keep one of each")
        default:
            return FileIssue(SourceLocation(file: path), "cannot parse YAML: \(error)")
        }
    }
}
