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
