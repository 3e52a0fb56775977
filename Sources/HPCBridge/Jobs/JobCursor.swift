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

    /// The opaque form: base64url of `<seconds since 2001 as exact bits>:<uuid>`.
    public var token: String {
        let text = "\(createdAt.timeIntervalSinceReferenceDate.bitPattern):\(id.uuidString)"
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Reads a cursor a previous page returned; nil for anything else.
    public init?(token: String) {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let bits = UInt64(parts[0]), let id = UUID(uuidString: String(parts[1])) else { return nil }
        self.init(createdAt: Date(timeIntervalSinceReferenceDate: Double(bitPattern: bits)), id: id)
    }
}
