import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// One PostgreSQL session, driven from a thread meant for blocking work, as the store drives SQLite:
/// the store's calls already run on `BlockingCallPool` threads with deadlines, so its statements and
/// transactions can be written once, synchronously, for both backends (the same SQL, `?` placeholders,
/// values as `SQLValue`). Never call it from an event loop or Swift's cooperative pool: it waits.
///
/// Write transactions take one transaction-scoped advisory lock first (`writeLockKeys`), so every
/// guarantee that rests on SQLite's single writer holds here by the same rule, across every node on
/// the database: a group's open-jobs count is read and raised by one writer at a time (quotas), an
/// idempotency key is looked up and taken by one writer at a time, and positions in the transition log
/// and the job change log are handed out in commit order. (A PostgreSQL sequence alone is not: a
/// transaction that took position 7 may commit after one that took 8, and a reader that saw 8 and
/// moved past it would never see 7.) Reads take no lock and see committed data only.
public final class PostgresSession: @unchecked Sendable {
    /// The advisory lock every write transaction takes: the store's namespace and its purpose (2:
    /// writes; the leader lease is 1).
    public static let writeLockKeys: (namespace: Int32, purpose: Int32) = (0x6862, 2)

    /// The store sessions' own event loop: their I/O does not queue behind HTTP traffic.
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private let connection: PostgresConnection
    private let logger: Logger
    /// Whether a transaction is open on this session (a session is used by one thread at a time).
    private var inTransaction = false

    /// A statement or connection failure, with the statement it came from.
    public struct Failure: Error, CustomStringConvertible {
        public let statement: String
        public let underlying: any Error
        /// PostgreSQL's SQLSTATE, when the server answered with an error (23505: a unique key taken).
        public var sqlState: String? { (underlying as? PSQLError)?.serverInfo?[.sqlState] }
        public var description: String {
            let server = (underlying as? PSQLError)?.serverInfo.map { info in
                [info[.sqlState], info[.message], info[.detail]].compactMap { $0 }.joined(separator: ": ")
            }
            return "PostgreSQL: \(server ?? String(describing: underlying)) (in: \(statement.prefix(120)))"
        }
    }

    private init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Opens a session (waits for the connection and its authentication).
    public static func connect(_ configuration: PostgresConnection.Configuration, id: Int = 1,
                               logger: Logger = Logger(label: "hpcbridge.store.postgres")) throws -> PostgresSession {
        do {
            let connection = try PostgresConnection.connect(on: eventLoops.next(), configuration: configuration, id: id, logger: logger).wait()
            return PostgresSession(connection: connection, logger: logger)
        } catch {
            throw Failure(statement: "connect", underlying: error)
        }
    }

    /// Runs one statement; returns its rows (none for a statement that returns none).
    @discardableResult
    public func execute(_ sql: String, _ arguments: [SQLValue] = []) throws -> [[SQLValue]] {
        try run(sql, arguments).rows
    }

    /// Runs one statement; returns how many rows it inserted, updated or deleted.
    public func changes(_ sql: String, _ arguments: [SQLValue] = []) throws -> Int {
        try run(sql, arguments).changed
    }

    private func run(_ sql: String, _ arguments: [SQLValue]) throws -> (rows: [[SQLValue]], changed: Int) {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: binds.appendNull()
            case .integer(let value): binds.append(value)
            case .real(let value): binds.append(value)
            case .text(let value): binds.append(value)
            }
        }
        let statement = Self.numberedPlaceholders(sql)
        do {
            let result = try connection.query(PostgresQuery(unsafeSQL: statement, binds: binds), logger: logger).wait()
            return (try result.rows.map { row in try row.map(Self.value(of:)) }, result.metadata.rows ?? 0)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(statement: statement, underlying: error)
        }
    }

    /// A read in one snapshot (REPEATABLE READ, read only): several statements see the same state.
    @discardableResult
    public func read<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// A write transaction: the write lock first (see the type's comment), then `body`; committed when
    /// `body` returns, rolled back when it throws.
    @discardableResult
    public func write<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        try transaction(begin: "BEGIN") { session in
            try session.execute("SELECT pg_advisory_xact_lock(?::integer, ?::integer)", [.integer(Int64(Self.writeLockKeys.namespace)), .integer(Int64(Self.writeLockKeys.purpose))])
            return try body(session)
        }
    }

    private func transaction<T>(begin: String, _ body: (PostgresSession) throws -> T) throws -> T {
        precondition(!inTransaction, "PostgresSession: transactions do not nest")
        try execute(begin)
        inTransaction = true
        defer { inTransaction = false }
        let value: T
        do {
            value = try body(self)
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
        try execute("COMMIT")
        return value
    }

    /// Closes the session (a transaction still open is rolled back by the server).
    public func close() {
        _ = try? connection.close().wait()
    }

    /// `?` placeholders (the store's statements, as SQLite takes them) as PostgreSQL's `$1`, `$2`, ...;
    /// a `?` inside a quoted literal, a quoted identifier or a comment is left alone.
    static func numberedPlaceholders(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: Character? = nil
        var lineComment = false
        var previous: Character? = nil
        for character in sql {
            if lineComment {
                if character == "\n" { lineComment = false }
            } else if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "-" && previous == "-" {
                lineComment = true
            } else if character == "?" {
                number += 1
                output += "$\(number)"
                previous = character
                continue
            }
            output.append(character)
            previous = character
        }
        return output
    }

    /// A cell as an `SQLValue`, by its PostgreSQL type (the store's columns are bigint, integer, double
    /// precision, text and boolean; anything else is read as its text).
    static func value(of cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .numeric: return .real(Double(try cell.decode(String.self)) ?? .nan)
        default: return .text(try cell.decode(String.self))
        }
    }
}
