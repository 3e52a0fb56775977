import Foundation
import GRDB
import Synchronization
import Testing
@testable import HPCBridge

/// The store's PostgreSQL schema on the dev PostgreSQL 15 (`make postgres`), each test in a schema of its
/// own (`search_path`): migrations apply once, also when two nodes start together; the tables and
/// columns are SQLite's, so one set of statements serves both; the open-jobs count follows every change.
@Suite("PostgreSQL store schema, live database", .enabled(if: LivePostgres.enabled))
struct PostgresSchemaTests {
    /// A session whose tables go to a new schema; `drop` removes it.
    func session(in schema: String) throws -> PostgresSession {
        let db = try PostgresSession.connect(try LivePostgres.configuration())
        try db.execute("CREATE SCHEMA IF NOT EXISTS \(schema)")
        try db.execute("SET search_path TO \(schema)")
        return db
    }

    func newSchema() -> String { "test_schema_\(UUID().uuidString.prefix(8).lowercased())" }

    @Test("migrations apply once: a second start applies none, and two nodes starting together apply them once between them")
    func appliedOnce() throws {
        let schema = newSchema()
        let (a, b) = (try session(in: schema), try session(in: schema))
        defer { _ = try? a.execute("DROP SCHEMA \(schema) CASCADE"); a.close(); b.close() }
        let results = Mutex<[[Int]]>([])
        let done = DispatchGroup()
        for db in [a, b] {
            done.enter()
            Thread.detachNewThread {
                let applied = (try? PostgresSchema.migrate(db)) ?? [-1]
                results.withLock { $0.append(applied) }
                done.leave()
            }
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(results.withLock { $0.sorted { $0.count < $1.count } } == [[], PostgresSchema.migrations.map(\.version)])
        #expect(try PostgresSchema.migrate(a) == [])
        #expect(try a.execute("SELECT count(*) FROM schemaMigration") == [[.integer(Int64(PostgresSchema.migrations.count))]])
    }

    @Test("every table of the SQLite store has the same columns on PostgreSQL, and no other table is there")
    func sameColumnsAsSQLite() throws {
        let schema = newSchema()
        let db = try session(in: schema)
        defer { _ = try? db.execute("DROP SCHEMA \(schema) CASCADE"); db.close() }
        try PostgresSchema.migrate(db)
        var postgres: [String: Set<String>] = [:]
        for row in try db.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?", [.text(schema)]) {
            guard let table = row[0].text, let column = row[1].text, table != "schemamigration" else { continue }
            postgres[table, default: []].insert(column)
        }
        let store = try JobStore(path: try TestPaths.scratchDirectory("schema") + "/hpcbridge.sqlite")
        let sqlite: [String: Set<String>] = try store.pool.read { sqlite in
            var tables: [String: Set<String>] = [:]
            let names = try String.fetchAll(sqlite, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'")
            for name in names {
                tables[name.lowercased()] = Set(try Row.fetchAll(sqlite, sql: "PRAGMA table_info(\(name))").map { ($0["name"] as String).lowercased() })
            }
            return tables
        }
        #expect(Set(postgres.keys) == Set(sqlite.keys))
        for (table, columns) in sqlite { #expect(postgres[table] == columns, "table \(table)") }
    }

    @Test("the open-jobs count per group follows inserts, state changes between open and closed states, group changes and deletes")
    func openJobsCount() throws {
        let schema = newSchema()
        let db = try session(in: schema)
        defer { _ = try? db.execute("DROP SCHEMA \(schema) CASCADE"); db.close() }
        try PostgresSchema.migrate(db)
        func insert(_ id: String, _ state: String, _ group: String) throws {
            try db.execute("""
                INSERT INTO job (id, state, pipelineName, pipelineVersion, parametersJSON, researchGroup, cluster, createdAt, scriptDigest)
                VALUES (?, ?, 'p', '1', '{}', ?, 'dev', 0, 'd')
                """, [.text(id), .text(state), .text(group)])
        }
        func counts() throws -> [String: Int64] {
            Dictionary(uniqueKeysWithValues: try db.execute("SELECT researchGroup, count FROM groupOpenJobs").map { ($0[0].text!, $0[1].integer!) })
        }
        try insert("1", "accepted", "a")
        try insert("2", "queued", "a")
        try insert("3", "completed", "a")
        #expect(try counts() == ["a": 2])
        try db.execute("UPDATE job SET state = 'running' WHERE id = '2'")
        #expect(try counts() == ["a": 2], "open to open: no change")
        try db.execute("UPDATE job SET state = 'failed' WHERE id = '1'")
        #expect(try counts() == ["a": 1])
        try db.execute("UPDATE job SET state = 'requeued_placeholder' WHERE id = '3'")
        #expect(try counts() == ["a": 1], "closed to closed: no change")
        try db.execute("UPDATE job SET researchGroup = 'b' WHERE id = '2'")
        #expect(try counts() == ["a": 0, "b": 1])
        try db.execute("DELETE FROM job WHERE id = '2'")
        #expect(try counts() == ["a": 0, "b": 0])
    }
}
