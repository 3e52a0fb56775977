import Foundation
import Testing
@testable import HPCBridge

/// `JSONParser` against the reader it replaced (Foundation's JSONDecoder into `JSONValue`'s Decodable
/// conformance): for every input both accept, the same value; for every input one refuses, the other
/// refuses too. One difference is on purpose: JSONDecoder lets a comma before `]` or `}` through, the
/// parser refuses it (RFC 8259).
@Suite("JSON parsing")
struct JSONParserTests {
    /// The reader `JSONValue.parse` used before: the oracle.
    static func decoded(_ data: Data) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: data)
    }

    static func parsed(_ data: Data) -> JSONValue? {
        try? JSONValue.parse(data)
    }

    static let valid = [
        #"{}"#, #"[]"#, #"0"#, #"-0"#, #"1"#, #"-12"#, #"3.25"#, #"1e5"#, #"1E-5"#, #"2.5e+3"#, #"123456789012345678"#,
        #"true"#, #"false"#, #"null"#, #""""#, #""plain""#, #" { "a" : [ 1 , 2 , { "b" : null } ] } "#,
        #""quote \" backslash \\ slash \/ controls \b\f\n\r\t""#, #""\u00e9\u4e2d\uD83D\uDE00""#, "\"caf\u{e9} \u{1F600}\"",
        #"{"a":1,"a":2}"#, #"{"a":1,"a":[2]}"#, #"{"nested":{"deeper":{"deepest":[[[]]]}}}"#, "\t\n\r [1]\n",
    ]

    static let invalid = [
        "", " ", "{", "}", "[,1]", "[1,,2]", #"{,"a":1}"#, #"{"a" 1}"#, #"{a:1}"#, "01", "1.", ".5", "+1", "-", "1e", "1e+", "tru", "nul", "True",
        #""\x""#, "\"tab\there\"", #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\u12""#, "1 2", "[1] x", "NaN", "Infinity",
        "1e400", #"{"a":1}}"#, #"["a" "b"]"#, "'single'",
    ]

    @Test("valid documents read as the decoder read them")
    func validDocuments() throws {
        for text in Self.valid {
            let data = Data(text.utf8)
            let expected = Self.decoded(data)
            #expect(expected != nil, "the oracle reads \(text)")
            #expect(Self.parsed(data) == expected, "\(text)")
        }
    }

    @Test("what the decoder refuses is refused")
    func invalidDocuments() {
        for text in Self.invalid {
            let data = Data(text.utf8)
            #expect(Self.decoded(data) == nil, "the oracle refuses \(text)")
            #expect(Self.parsed(data) == nil, "\(text)")
        }
        // A trailing comma: the decoder reads it, the parser refuses it.
        for text in ["[1,]", #"{"a":1,}"#, "[[null , ] ]"] {
            #expect(Self.decoded(Data(text.utf8)) != nil, "the oracle reads \(text)")
            #expect(Self.parsed(Data(text.utf8)) == nil, "\(text)")
        }
        // Invalid UTF-8 inside a string, and a document nested deeper than 512 levels.
        #expect(Self.parsed(Data([0x22, 0xFF, 0x22])) == nil)
        #expect(Self.parsed(Data((String(repeating: "[", count: 600) + String(repeating: "]", count: 600)).utf8)) == nil)
        #expect(Self.parsed(Data((String(repeating: "[", count: 500) + String(repeating: "]", count: 500)).utf8)) != nil)
    }

    @Test("the repository's JSON files read as the decoder read them")
    func repositoryFiles() throws {
        let root = URL(fileURLWithPath: TestPaths.examples).deletingLastPathComponent().deletingLastPathComponent()
        var count = 0
        for directory in ["config", "Tests/HPCBridgeTests/Fixtures"] {
            guard let walker = FileManager.default.enumerator(atPath: root.path + "/" + directory) else { continue }
            for case let path as String in walker where path.hasSuffix(".json") {
                let data = try Data(contentsOf: root.appendingPathComponent(directory + "/" + path))
                #expect(Self.parsed(data) == Self.decoded(data), "\(directory)/\(path)")
                count += 1
            }
        }
        #expect(count > 10, "found \(count) JSON files")
    }

    @Test("random values read back from their text; random damage to the text is judged as the decoder judges it")
    func randomDocuments() {
        var random = SeededRandom(seed: 20261207)
        for _ in 0..<400 {
            let value = Self.randomValue(depth: 0, &random)
            let text = value.jsonText
            #expect(Self.parsed(Data(text.utf8)) == value, "\(text)")
            var bytes = Array(text.utf8)
            for _ in 0..<3 {
                let index = Int.random(in: 0...bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0 where index < bytes.count: bytes.remove(at: index)
                case 1: bytes.insert(Array(#"{}[]:,"\ -.e0t"#.utf8).randomElement(using: &random)!, at: index)
                default: if index < bytes.count { bytes[index] = UInt8.random(in: 0x20...0x7E, using: &random) }
                }
                let data = Data(bytes)
                let expected = Self.hasTrailingComma(bytes) ? nil : Self.decoded(data)
                #expect(Self.parsed(data) == expected, "\(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }

    /// `JSONValue.quote` as it was written before it worked by byte (per Unicode scalar): the stored form
    /// of parameters and the request hash of idempotency keys must not change.
    static func quotedByScalar(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    @Test("canonical text quotes as it always did: every ASCII character, DEL, U+2028, U+2029, beyond ASCII")
    func canonicalQuoting() {
        let everything = String((0...0x7F).map { Character(Unicode.Scalar(UInt8($0))) }) + "é中😀\u{2028}\u{2029}\u{2027}\u{202A}\u{E2}"
        #expect(JSONValue.quote(everything) == Self.quotedByScalar(everything))
        var random = SeededRandom(seed: 7)
        let alphabet = Array("ab\"\\/\n\t\u{1}\u{7F}é中😀\u{2028}\u{2029}\u{E2}")
        for _ in 0..<300 {
            let text = String((0..<Int.random(in: 0...12, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            #expect(JSONValue.quote(text) == Self.quotedByScalar(text), "\(text.debugDescription)")
        }
    }

    /// A comma followed by `]` or `}` (whitespace between), outside strings.
    static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        var inString = false, escaped = false, afterComma = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true; afterComma = false
            case UInt8(ascii: ","): afterComma = true
            case UInt8(ascii: "]"), UInt8(ascii: "}"): if afterComma { return true }
            case 0x20, 0x09, 0x0A, 0x0D: break
            default: afterComma = false
            }
        }
        return false
    }

    static func randomValue(depth: Int, _ random: inout SeededRandom) -> JSONValue {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &random)))
        case 3: return .number(Double.random(in: -1e6...1e6, using: &random))
        case 4:
            let alphabet = Array("ab c\"\\/\n\t\u{1}\u{7F}é中😀\u{2028}")
            return .string(String((0..<Int.random(in: 0...8, using: &random)).map { _ in alphabet.randomElement(using: &random)! }))
        case 5: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(depth: depth + 1, &random) })
        default:
            var members: [String: JSONValue] = [:]
            for index in 0..<Int.random(in: 0...4, using: &random) { members["k\(index)\(["", "é", "\""].randomElement(using: &random)!)"] = randomValue(depth: depth + 1, &random) }
            return .object(members)
        }
    }
}

/// A small deterministic generator (xorshift64*), so a failing case is the same on every run.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
}
