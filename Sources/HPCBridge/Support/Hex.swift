import Foundation

/// Lower-case hex of bytes (digests, token hashes): a table lookup per byte, because
/// `String(format: "%02x")` goes through Foundation's format parser for every byte and showed up in
/// profiles of the request path (BENCHMARKS.md).
extension Sequence where Element == UInt8 {
    public var hexString: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            bytes.append(hexDigits[Int(byte >> 4)])
            bytes.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

extension UUID {
    /// Parses the canonical 36-character form (8-4-4-4-12 hex digits, either case) straight from UTF-8.
    /// The reconciler reads a tag from every job of every snapshot, and `UUID(uuidString:)` was more than
    /// half of a snapshot's conversion time in the profile (BENCHMARKS.md).
    public init?<Text: Collection<UInt8>>(canonicalUTF8 text: Text) {
        guard text.count == 36 else { return nil }
        // Into the UUID's own bytes: no array per call (this runs for every job of every snapshot).
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed = withUnsafeMutableBytes(of: &uuid) { bytes -> Bool in
            var index = 0
            var high: UInt8? = nil
            for (position, character) in text.enumerated() {
                if position == 8 || position == 13 || position == 18 || position == 23 {
                    guard character == UInt8(ascii: "-") else { return false }
                    continue
                }
                guard let nibble = hexValue(character) else { return false }
                if let first = high {
                    bytes[index] = first << 4 | nibble
                    index += 1
                    high = nil
                } else {
                    high = nibble
                }
            }
            return true
        }
        guard parsed else { return nil }
        self.init(uuid: uuid)
    }
}

private func hexValue(_ character: UInt8) -> UInt8? {
    switch character {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
    default: nil
    }
}
