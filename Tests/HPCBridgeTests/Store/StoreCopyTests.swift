import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import HPCBridge

/// `hpcbridge store migrate`'s copy (`StoreCopy`) from a SQLite store the service filled through its API
/// (jobs, a cohort run, a cancel, a retried key, tokens, a reconcile) into a new schema of the dev
/// PostgreSQL 15: every table's rows equal, value for value; the transition log continues after the copy;
/// a second copy into the same database is refused and changes nothing.
@Suite("Store copy, SQLite to PostgreSQL, live database", .enabled(if: LivePostgres.enabled))
struct StoreCopyTests {
    @Test("every row of every table arrives unchanged; the log continues after the largest sequence; a second copy is refused")
    func copyEverything() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let jobs = service.assembly.service
        let token = try service.token(group: "cancer_genomics_lab")
        _ = try service.token(group: nil)
        for n in 0..<3 {
            var request = try TestSite.example("gatk_variant_calling")
            request.description = "copy \(n)"
            _ = try await jobs.submit(request, by: .group("cancer_genomics_lab"), idempotencyKey: "key-\(n)")
        }
        _ = try await jobs.submit({ var r = try TestSite.example("gatk_variant_calling"); r.description = "copy 0"; return r }(),
                                  by: .group("cancer_genomics_lab"), idempotencyKey: "key-0")
        try await service.withClient { client in
            let body: JSONValue = .object([
                "pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab",
                "parameters": ["cohort_id": "c1", "reference_genome": "hg38"],
                "samples": .string(RunServiceTests.sheet(3, root: "/data/cancer_genomics_lab/c1")),
            ])
            let response = try await client.execute(uri: "/v1/runs", method: .post,
                                                    headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                                                    body: ByteBuffer(string: body.jsonText))
            #expect(response.status == .created)
        }
        let first = try #require(try service.store.jobs(JobStore.Filter()).jobs.last)
        _ = try await jobs.cancel(first.id, by: .group("cancer_genomics_lab"))
        _ = try await service.reconciler.cycle()

        let schema = "test_copy_\(UUID().uuidString.prefix(8).lowercased())"
        let db = try PostgresSession.connect(try LivePostgres.configuration())
        try db.execute("CREATE SCHEMA \(schema)")
        try db.execute("SET search_path TO \(schema)")
        defer { _ = try? db.execute("DROP SCHEMA \(schema) CASCADE"); db.close() }
        let report = try StoreCopy.copy(from: service.store, to: db, batch: 7)
        #expect(report.rows.first { $0.table == "job" }?.count == 3 + 2, "three jobs and the run's two steps")
        #expect(report.rows.first { $0.table == "runTask" }?.count == 3)
        #expect(report.rows.first { $0.table == "apiToken" }?.count == 2)
        #expect(report.rows.first { $0.table == "idempotencyKey" }?.count == 3, "the retried key stays one")

        for table in StoreCopy.tables {
            let sqliteRows: [String] = try await service.store.pool.read { sqlite in
                try Row.fetchAll(sqlite, sql: "SELECT * FROM \(table)").map { row in
                    row.databaseValues.map { SQLValue($0) ?? .null }.description
                }.sorted()
            }
            let columns = try await service.store.pool.read { try Row.fetchAll($0, sql: "PRAGMA table_info(\(table))").map { $0["name"] as String } }
            let postgresRows = try db.execute("SELECT \(columns.joined(separator: ", ")) FROM \(table)").map(\.description).sorted()
            #expect(postgresRows == sqliteRows, "table \(table)")
        }
        let largest = try #require(try db.execute("SELECT max(sequence) FROM jobTransition")[0][0].integer)
        let next = try db.execute("INSERT INTO jobTransition (jobID, toState, at, source) VALUES (?, 'queued', 0, 'test') RETURNING sequence",
                                  [.text(first.id.uuidString)])
        #expect(next == [[.integer(largest + 1)]])
        #expect(throws: StoreCopy.Problem.self) { try StoreCopy.copy(from: service.store, to: db) }
        #expect(try db.execute("SELECT count(*) FROM job") == [[.integer(5)]])
    }
}

/// `hpcbridge store migrate` as an admin runs it, into a database of its own on the dev PostgreSQL.
@Suite("hpcbridge store migrate, live database", .enabled(if: LivePostgres.enabled))
struct StoreMigrateCommandTests {
    @Test("copies into an empty database and names the store: line; a second run is refused (exit 1) and a URL with a password too")
    func migrate() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLITests.executable), "build the hpcbridge product first")
        let source = try TestPaths.scratchDirectory("store-migrate") + "/hpcbridge.sqlite"
        let store = try JobStore(path: source)
        _ = try APITokens(store: store).create(group: "cancer_genomics_lab", label: "migrated")
        try store.close()
        let database = "hpcbridge_cli_\(UUID().uuidString.prefix(8).lowercased())"
        let admin = try PostgresSession.connect(try LivePostgres.configuration())
        try admin.execute("CREATE DATABASE \(database)")
        defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(database)"); admin.close() }
        let location = try LivePostgres.location()
        let url = "postgres://\(location.username)@\(location.host):\(location.port)/\(database)"
        let arguments = ["store", "migrate", "--from", source, "--to", url, "--password-file", LivePostgres.passwordFile]

        let first = try await run(CLITests.executable, arguments, directory: TestPaths.root)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stderr.contains("copied apiToken: 1 rows"), "\(first.stderr)")
        #expect(first.stdout.contains("set `store: \(url)`"), "\(first.stdout)")
        let second = try await run(CLITests.executable, arguments, directory: TestPaths.root)
        #expect(second.status == 1 && second.stderr.contains("not empty"), "\(second.stderr)")
        let withPassword = try await run(CLITests.executable, ["store", "migrate", "--from", source, "--to",
                                                               "postgres://\(location.username):secret@\(location.host):\(location.port)/\(database)"],
                                         directory: TestPaths.root)
        #expect(withPassword.status == 1 && withPassword.stderr.contains("password"), "\(withPassword.stderr)")
        #expect(!withPassword.stderr.contains("secret"), "the password is not echoed")
    }
}
