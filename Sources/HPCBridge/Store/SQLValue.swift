import GRDB

/// A column value as both store backends hold it: SQLite's storage classes, which PostgreSQL's column
/// types of the store map onto (`bigint`, `double precision`, `text`). Shared so that the store's
/// statements and row mapping are written once for both.
public enum SQLValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    public init(_ value: String?) { self = value.map(SQLValue.text) ?? .null }
    public init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    public init(_ value: Int64?) { self = value.map(SQLValue.integer) ?? .null }
    public init(_ value: Double?) { self = value.map(SQLValue.real) ?? .null }

    public var text: String? { if case .text(let value) = self { value } else { nil } }
    /// An integer column's value (a real one with no fraction too, as SQLite may hand back).
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .real(let value) where value.rounded() == value: Int64(exactly: value)
        default: nil
        }
    }
    public var real: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
    public var isNull: Bool { self == .null }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): "\(value)"
        case .real(let value): "\(value)"
        case .text(let value): "'\(value)'"
        }
    }
}

extension SQLValue {
    /// A SQLite value as the shared type; nil for a BLOB, which the store never writes.
    init?(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let number): self = .integer(number)
        case .double(let number): self = .real(number)
        case .string(let text): self = .text(text)
        case .blob: return nil
        }
    }
}
