/// What a compiled template reads: the render context as a closed set of kinds, so a lookup is a
/// dictionary read and a switch, not a chain of dynamic casts of `Any` (which were most of the
/// rendering's cost with Mustache's own renderer).
public enum TemplateValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([TemplateValue])
    case object([String: TemplateValue])

    /// A validated parameter as templates see it: integral numbers print without `.0` (below 1e15,
    /// where every integer a double holds is exact).
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let n): self = n.isIntegral && abs(n) < 1e15 ? .int(Int(n)) : .double(n)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(items.map(TemplateValue.init))
        case .object(let members): self = .object(members.mapValues(TemplateValue.init))
        }
    }

    /// A table of strings (output paths by name, a reference's files).
    public init(_ strings: [String: String]) {
        self = .object(strings.mapValues(TemplateValue.string))
    }

    /// The member `name` of an object; nothing else has named members.
    func member(_ name: String) -> TemplateValue? {
        if case .object(let members) = self { return members[name] }
        return nil
    }

    /// The text a `{{value}}` tag prints before escaping. Numbers and booleans print as Swift prints
    /// them, as Mustache did. A list or object printed whole is its JSON text: Mustache printed Swift's
    /// description there, whose member order changed from one process to the next.
    var text: String {
        switch self {
        case .null: return ""
        case .bool(let b): return b ? "true" : "false"
        case .int(let n): return String(n)
        case .double(let n): return String(describing: n)
        case .string(let s): return s
        case .list, .object: return json.jsonText
        }
    }

    private var json: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let n): return .number(Double(n))
        case .double(let n): return .number(n)
        case .string(let s): return .string(s)
        case .list(let items): return .array(items.map(\.json))
        case .object(let members): return .object(members.mapValues(\.json))
        }
    }
}
