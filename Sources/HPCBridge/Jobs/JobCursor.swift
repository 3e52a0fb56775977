import Foundation

/// Where the next page of a job listing starts: the last job's creation time and id, so pages stay
/// stable while new jobs arrive. Clients see it as an opaque base64url string.
public struct JobCursor: Sendable, Hashable {
    public let createdAt: Date
    public let id: UUID

    public init(createdAt: Date, id: UUID) {
        self.createdAt = createdAt
        self.id = id
    }

    /// The opaque form: the creation time's exact bits as 16 hex digits, `_`, the id (lowercase). Every
    /// text of that shape reads back as a cursor, so the contract can state it as a pattern and a client
    /// that sends anything of that shape gets a page, never a refusal.
    public var token: String {
        let bits = String(createdAt.timeIntervalSinceReferenceDate.bitPattern, radix: 16)
        return String(repeating: "0", count: 16 - bits.count) + bits + "_" + id.uuidString.lowercased()
    }

    /// Reads a cursor a previous page returned; nil for anything else.
    public init?(token: String) {
        let parts = token.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 16, parts[0].utf8.allSatisfy({ Self.isHexDigit($0) }),
              let bits = UInt64(parts[0], radix: 16), let id = UUID(canonicalUTF8: parts[1].utf8) else { return nil }
        self.init(createdAt: Date(timeIntervalSinceReferenceDate: Double(bitPattern: bits)), id: id)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) || (0x41...0x46).contains(byte)
    }
}
