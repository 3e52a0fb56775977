/// A job's id in its scheduler: `12345` or `12345_7` (array task) in Slurm, `123.server` in PBS.
public struct NativeJobID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }

    /// Numeric order where both ids start with a number (so `9` sorts before `10`), text order otherwise.
    public static func < (lhs: NativeJobID, rhs: NativeJobID) -> Bool {
        let l = lhs.rawValue.prefix { $0.isNumber }, r = rhs.rawValue.prefix { $0.isNumber }
        if let a = Int(l), let b = Int(r), a != b { return a < b }
        return lhs.rawValue < rhs.rawValue
    }

    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
