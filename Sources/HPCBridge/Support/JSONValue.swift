import Foundation

/// A JSON document held as a tree, as JSON Schema sees it.
///
/// Numbers are one case (`number`), because JSON Schema compares `1` and `1.0` as equal and calls
/// `10000.0` an integer; whether a number is integral is a property of its value, not its spelling.
/// Objects are plain dictionaries: wherever order matters (errors, rendering, output) callers sort keys,
/// so every output built from a `JSONValue` is deterministic.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The JSON Schema type name of this value (`integer` for integral numbers).
    public var schemaTypeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let n): return n.isIntegral ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// A short, human description of the kind of value, for error messages read by biologists.
    public var kindForHumans: String {
        switch self {
        case .null: return "null"
        case .bool: return "true/false"
        case .number(let n): return n.isIntegral ? "a whole number" : "a decimal number"
        case .string: return "text"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var numberValue: Double? { if case .number(let n) = self { return n } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }

    /// Member lookup for objects; `nil` for anything else.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    /// The value as compact JSON text with sorted keys (deterministic).
    public var jsonText: String {
        var out: [UInt8] = []
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Written as bytes: built as a String by appending, this was most of the canonical text's cost
    /// (parameters are stored and hashed as this text on every submission).
    private func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: Self.format(number: n).utf8)
        case .string(let s): Self.appendQuoted(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Formats a number the way a person writes it: integral values without a fraction.
    public static func format(number n: Double) -> String {
        if n.isIntegral, abs(n) < 1e15 { return String(Int64(n)) }
        return String(n)
    }

    /// JSON string quoting (RFC 8259): quotes, backslashes and every control character escaped, and DEL,
    /// U+2028 and U+2029 too (they end a line in JavaScript and trip up terminals).
    public static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var runStart = 0, index = 0
            func escape(_ text: StaticString, skipping count: Int) {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
                index += count
                runStart = index
            }
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""): escape(#"\""#, skipping: 1)
                case UInt8(ascii: "\\"): escape(#"\\"#, skipping: 1)
                case 0x0A: escape(#"\n"#, skipping: 1)
                case 0x0D: escape(#"\r"#, skipping: 1)
                case 0x09: escape(#"\t"#, skipping: 1)
                case 0x00..<0x20, 0x7F:
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                    out.append(contentsOf: #"\u00"#.utf8)
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0x0F)])
                    index += 1
                    runStart = index
                case 0xE2 where index + 2 < bytes.count && bytes[index + 1] == 0x80 && bytes[index + 2] == 0xA8:
                    escape(#"\u2028"#, skipping: 3)
                case 0xE2 where index + 2 < bytes.count && bytes[index + 1] == 0x80 && bytes[index + 2] == 0xA9:
                    escape(#"\u2029"#, skipping: 3)
                default: index += 1
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

extension Double {
    /// True for finite values without a fractional part (JSON Schema's definition of an integer).
    var isIntegral: Bool { isFinite && rounded(.towardZero) == self }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? container.decode(Double.self) {
            self = .number(n)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let n):
            if n.isIntegral, abs(n) < 9.0e15 { try container.encode(Int64(n)) } else { try container.encode(n) }
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

extension JSONValue {
    /// Parses JSON text of any kind (object, array or scalar, as RFC 8259 allows at the top level).
    ///
    /// Strict where JSON Schema needs it: `true` is never a number and `1` never a boolean, so the type a
    /// document was written with is the type it is validated as. Read by `JSONParser` (the rules of
    /// Foundation's JSONDecoder, at a fraction of its cost for this type).
    public static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { bytes throws(JSONParser.Failure) in try JSONParser.parse(bytes) }
    }

    /// Parses JSON from a string.
    public static func parse(_ text: String) throws -> JSONValue {
        try parse(Data(text.utf8))
    }
}

extension JSONValue {
    /// Indented JSON with sorted keys, for people.
    public var prettyJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? jsonText
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(Dictionary(elements, uniquingKeysWith: { $1 })) }
}
