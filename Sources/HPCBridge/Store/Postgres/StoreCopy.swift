import Foundation
import GRDB

/// Copies a SQLite store into an empty PostgreSQL database (`hpcbridge store migrate`): every table,
/// column for column (the schemas are the same, `PostgresSchema`), read from one SQLite snapshot and
/// written in one PostgreSQL transaction, so a copy that fails leaves the database as empty as it was.
///
/// Transition sequences are copied as they are (clients resume event streams by them) and the
/// PostgreSQL sequence continues after the largest. The open-jobs counts are not copied: the trigger
/// rebuilds them from the jobs, and the copy checks they came out as SQLite had them.
public enum StoreCopy {
    /// Tables in an order their foreign keys allow (every referenced row first).
    static let tables = ["job", "jobIntent", "jobTransition", "idempotencyKey", "apiToken", "storeProbe", "run", "runStep", "runTask",
                         "runIdempotencyKey", "webSession"]

    /// What was copied: rows per table, in `tables` order.
    public struct Report: Sendable, Equatable {
        public var rows: [(table: String, count: Int)]
        public static func == (a: Report, b: Report) -> Bool { a.rows.elementsEqual(b.rows) { $0 == $1 } }
    }

    /// Why a copy was refused or failed.
    public enum Problem: Error, CustomStringConvertible {
        case notEmpty(table: String, rows: Int64)
        case unexpectedValue(table: String, column: String)
        case countsDiffer(table: String, sqlite: Int, postgres: Int64)
        case openJobsDiffer(sqlite: [String: Int64], postgres: [String: Int64])

        public var description: String {
            switch self {
            case .notEmpty(let table, let rows):
                "the PostgreSQL store is not empty (\(rows) rows in \(table)); `store migrate` copies into an empty database only: point it at a new one, or drop this one's tables if they are a failed earlier attempt"
            case .unexpectedValue(let table, let column):
                "a value in \(table).\(column) is not text, a number or NULL (a BLOB?); the SQLite store may be damaged: check it with `sqlite3 FILE 'PRAGMA integrity_check'`"
            case .countsDiffer(let table, let sqlite, let postgres):
                "after the copy \(table) has \(postgres) rows on PostgreSQL but \(sqlite) in SQLite; nothing was kept"
            case .openJobsDiffer(let sqlite, let postgres):
                "the open-jobs counts rebuilt on PostgreSQL (\(postgres)) differ from SQLite's (\(sqlite)); nothing was kept"
            }
        }
    }

    /// Copies `store` into the database of `db` (its schema migrated first). Rows go in batches of
    /// `batch` per statement; `progress` hears of each table when it is done.
    @discardableResult
    public static func copy(from store: JobStore, to db: PostgresSession, batch: Int = 200,
                            progress: (String, Int) -> Void = { _, _ in }) throws -> Report {
        try PostgresSchema.migrate(db)
        for table in tables {
            let rows = try db.execute("SELECT count(*) FROM \(table)")[0][0].integer ?? 0
            guard rows == 0 else { throw Problem.notEmpty(table: table, rows: rows) }
        }
        return try store.pool.read { sqlite in
            try db.write { db in
                var report = Report(rows: [])
                for table in tables {
                    let columns = try Row.fetchAll(sqlite, sql: "PRAGMA table_info(\(table))").map { $0["name"] as String }
                    let count = try copy(table, columns: columns, from: sqlite, to: db, batch: batch)
                    let copied = try db.execute("SELECT count(*) FROM \(table)")[0][0].integer ?? -1
                    guard copied == Int64(count) else { throw Problem.countsDiffer(table: table, sqlite: count, postgres: copied) }
                    report.rows.append((table, count))
                    progress(table, count)
                }
                try db.execute("SELECT setval(pg_get_serial_sequence('jobtransition', 'sequence'), (SELECT COALESCE(MAX(sequence), 0) + 1 FROM jobTransition), false)")
                let sqliteOpen = Dictionary(uniqueKeysWithValues: try Row.fetchAll(sqlite, sql: "SELECT researchGroup, count FROM groupOpenJobs WHERE count <> 0")
                    .map { ($0[0] as String, $0[1] as Int64) })
                let postgresOpen = Dictionary(uniqueKeysWithValues: try db.execute("SELECT researchGroup, count FROM groupOpenJobs WHERE count <> 0")
                    .map { ($0[0].text ?? "", $0[1].integer ?? -1) })
                guard sqliteOpen == postgresOpen else { throw Problem.openJobsDiffer(sqlite: sqliteOpen, postgres: postgresOpen) }
                return report
            }
        }
    }

    /// Copies one table's rows, `batch` rows per INSERT; returns how many.
    private static func copy(_ table: String, columns: [String], from sqlite: Database, to db: PostgresSession, batch: Int) throws -> Int {
        let rowPlaceholders = "(" + columns.map { _ in "?" }.joined(separator: ", ") + ")"
        let insert = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        var pending: [SQLValue] = []
        var count = 0
        func flush() throws {
            guard !pending.isEmpty else { return }
            let rows = pending.count / columns.count
            try db.execute(insert + Array(repeating: rowPlaceholders, count: rows).joined(separator: ", "), pending)
            pending.removeAll(keepingCapacity: true)
        }
        let cursor = try Row.fetchCursor(sqlite, sql: "SELECT \(columns.joined(separator: ", ")) FROM \(table)")
        while let row = try cursor.next() {
            for (index, column) in columns.enumerated() {
                guard let value = SQLValue(row[index] as DatabaseValue) else { throw Problem.unexpectedValue(table: table, column: column) }
                pending.append(value)
            }
            count += 1
            if count % batch == 0 { try flush() }
        }
        try flush()
        return count
    }
}
