/// JSON text written byte by byte, for the few documents written on every submission (the job's stored
/// intent, the answer) where Foundation's JSONEncoder and its generic containers cost more than the
/// rest of the document's work.
public enum JSONText {
    /// A JSON string as JSONEncoder writes it with `.withoutEscapingSlashes`: quote and backslash escaped,
    /// control characters as `\b \f \n \r \t` or `\u00XX`, everything else as it is.
    public static func appendString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                // Bytes that need no escape are copied a run at a time.
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                runStart = index + 1
                out.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default:
                    out.append(UInt8(ascii: "u"))
                    out.append(UInt8(ascii: "0"))
                    out.append(UInt8(ascii: "0"))
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0x0F)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// One JSON object written member by member, for the documents `JSONText` is for (a job's stored intent,
/// a submission's answer): the writer puts the opening brace or the comma before each member, so a
/// caller only names members, and a nested object is another writer. An optional member that is nil is
/// left out, as JSONEncoder's synthesized `encodeIfPresent` leaves it out.
public struct JSONObjectWriter {
    private var bytes: [UInt8] = []
    private var empty = true

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// A member's name (one that needs no escape); its value is written next.
    private mutating func key(_ name: StaticString) {
        bytes.append(empty ? UInt8(ascii: "{") : UInt8(ascii: ","))
        empty = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(contentsOf: "\":".utf8)
    }

    public mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        JSONText.appendString(value, to: &bytes)
    }

    /// A member whose name is data (an environment variable's), escaped like a value.
    public mutating func string(named name: String, _ value: String) {
        bytes.append(empty ? UInt8(ascii: "{") : UInt8(ascii: ","))
        empty = false
        JSONText.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        JSONText.appendString(value, to: &bytes)
    }

    public mutating func integer(_ name: StaticString, _ value: (some BinaryInteger)?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func bool(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// A member whose value is JSON text already: stored canonical JSON, a number as JSONEncoder writes
    /// it, a nested object or an array.
    public mutating func json(_ name: StaticString, _ value: (some Sequence<UInt8>)?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: value)
    }

    /// The object, closed.
    public consuming func finished() -> [UInt8] {
        if empty { bytes.append(UInt8(ascii: "{")) }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}
