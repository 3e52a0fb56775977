import Foundation
import Synchronization
import Testing
@testable import HPCBridge

@Suite("PostgreSQL sessions: placeholders")
struct PostgresPlaceholderTests {
    @Test("`?` becomes $1, $2, ... outside literals, quoted identifiers and comments")
    func placeholders() {
        #expect(PostgresSession.numberedPlaceholders("SELECT a FROM t WHERE b = ? AND c = ?") == "SELECT a FROM t WHERE b = $1 AND c = $2")
        #expect(PostgresSession.numberedPlaceholders("SELECT '?', \"x?\" FROM t WHERE b = ? -- why?\nAND c = ?")
                == "SELECT '?', \"x?\" FROM t WHERE b = $1 -- why?\nAND c = $2")
        #expect(PostgresSession.numberedPlaceholders("SELECT 'it''s ?' WHERE a = ?") == "SELECT 'it''s ?' WHERE a = $1")
        #expect(PostgresSession.numberedPlaceholders("SELECT 1") == "SELECT 1")
    }
}

/// The session the store's PostgreSQL backend is built on, against the dev PostgreSQL 15 (`make
/// postgres`): values round-trip, and the write lock gives the single-writer rules the SQLite store has,
/// across sessions (nodes). Each test uses tables of its own.
@Suite("PostgreSQL sessions, live database", .enabled(if: LivePostgres.enabled))
struct PostgresSessionTests {
    /// A session on the dev database, and a table name no other test uses.
    func session() throws -> PostgresSession { try PostgresSession.connect(try LivePostgres.configuration()) }
    func table(_ purpose: String) -> String { "test_\(purpose)_\(UUID().uuidString.prefix(8).lowercased())" }

    @Test("values round-trip by type: NULL, bigint, double precision, text with quotes and non-ASCII; affected rows are counted")
    func roundTrip() throws {
        let db = try session()
        defer { db.close() }
        let name = table("values")
        try db.execute("CREATE TABLE \(name) (i bigint, r double precision, t text, b boolean)")
        defer { _ = try? db.execute("DROP TABLE \(name)") }
        let values: [SQLValue] = [.integer(Int64.max), .real(0.1), .text("it's \"quoted\" — ünïcode ?")]
        #expect(try db.changes("INSERT INTO \(name) (i, r, t, b) VALUES (?, ?, ?, true), (?, ?, ?, false)", values + [.null, .null, .null]) == 2)
        let rows = try db.execute("SELECT i, r, t, b FROM \(name) ORDER BY i NULLS LAST")
        #expect(rows == [values + [.integer(1)], [.null, .null, .null, .integer(0)]])
        #expect(try db.changes("UPDATE \(name) SET t = ? WHERE i IS NULL", [.text("x")]) == 1)
    }

    @Test("a failed statement rolls its write transaction back and names PostgreSQL's SQLSTATE; the session goes on")
    func rollback() throws {
        let db = try session()
        defer { db.close() }
        let name = table("rollback")
        try db.execute("CREATE TABLE \(name) (k text PRIMARY KEY)")
        defer { _ = try? db.execute("DROP TABLE \(name)") }
        #expect(throws: PostgresSession.Failure.self) {
            try db.write { db in
                try db.execute("INSERT INTO \(name) (k) VALUES (?)", [.text("a")])
                try db.execute("INSERT INTO \(name) (k) VALUES (?)", [.text("a")])
            }
        }
        do {
            try db.write { db in try db.execute("INSERT INTO \(name) (k) VALUES (?), (?)", [.text("b"), .text("b")]) }
        } catch let failure as PostgresSession.Failure {
            #expect(failure.sqlState == "23505", "\(failure)")
        }
        #expect(try db.execute("SELECT count(*) FROM \(name)") == [[.integer(0)]], "nothing of either transaction stays")
        try db.write { db in try db.execute("INSERT INTO \(name) (k) VALUES (?)", [.text("c")]) }
        #expect(try db.execute("SELECT k FROM \(name)") == [[.text("c")]])
    }

    /// Two sessions each count a group's rows and insert one if under the limit, the first pausing
    /// between its count and its commit. Returns the rows there are in the end.
    func countThenInsert(locked: Bool) throws -> Int64 {
        let (a, b, setup) = (try session(), try session(), try session())
        defer { a.close(); b.close(); setup.close() }
        let name = table(locked ? "quota_locked" : "quota_unlocked")
        try setup.execute("CREATE TABLE \(name) (id serial PRIMARY KEY, grp text NOT NULL)")
        defer { _ = try? setup.execute("DROP TABLE \(name)") }
        for _ in 0..<19 { try setup.execute("INSERT INTO \(name) (grp) VALUES ('lab')") }
        let limit: Int64 = 20
        let insertIfUnder: @Sendable (PostgresSession) throws -> Void = { db in
            let count = try db.execute("SELECT count(*) FROM \(name) WHERE grp = 'lab'")[0][0].integer ?? 0
            if count < limit { try db.execute("INSERT INTO \(name) (grp) VALUES ('lab')") }
        }
        let counted = DispatchSemaphore(value: 0), goOn = DispatchSemaphore(value: 0), aDone = DispatchSemaphore(value: 0)
        let transaction: @Sendable (PostgresSession, () throws -> Void) throws -> Void = { db, body in
            if locked { try db.write { _ in try body() } } else {
                try db.execute("BEGIN"); try body(); try db.execute("COMMIT")
            }
        }
        Thread.detachNewThread {
            try? transaction(a) {
                try insertIfUnder(a)
                counted.signal()
                goOn.wait()
            }
            aDone.signal()
        }
        try #require(counted.wait(timeout: .now() + 10) == .success, "A's transaction did not begin")
        // B runs while A holds its transaction open; with the lock, B waits for A's commit.
        let bDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? transaction(b) { try insertIfUnder(b) }
            bDone.signal()
        }
        let bFinishedWhileAOpen = bDone.wait(timeout: .now() + 1) == .success
        #expect(bFinishedWhileAOpen == !locked, locked ? "B waited for A's write lock" : "without the lock B does not wait")
        goOn.signal()
        aDone.wait()
        if !bFinishedWhileAOpen { bDone.wait() }
        return try setup.execute("SELECT count(*) FROM \(name)")[0][0].integer ?? -1
    }

    @Test("the write lock makes count-then-insert exact across sessions (a quota is never exceeded); without it, two writers pass the same count")
    func quotaAcrossSessions() throws {
        #expect(try countThenInsert(locked: true) == 20)
        #expect(try countThenInsert(locked: false) == 21, "the check that the lock is what keeps the count exact")
    }

    @Test("positions handed out under the write lock become visible in their order: a reader never sees a later one without an earlier")
    func positionsInCommitOrder() throws {
        let (a, b, reader, setup) = (try session(), try session(), try session(), try session())
        defer { a.close(); b.close(); reader.close(); setup.close() }
        let name = table("log")
        try setup.execute("CREATE TABLE \(name) (position bigserial PRIMARY KEY, writer text NOT NULL)")
        defer { _ = try? setup.execute("DROP TABLE \(name)") }
        let aInside = DispatchSemaphore(value: 0), aGoOn = DispatchSemaphore(value: 0), done = DispatchGroup()
        done.enter()
        Thread.detachNewThread {
            _ = try? a.write { db in
                try db.execute("INSERT INTO \(name) (writer) VALUES ('a')")
                aInside.signal()
                aGoOn.wait()
            }
            done.leave()
        }
        try #require(aInside.wait(timeout: .now() + 10) == .success, "A's write transaction did not begin")
        done.enter()
        Thread.detachNewThread {
            _ = try? b.write { db in try db.execute("INSERT INTO \(name) (writer) VALUES ('b')") }
            done.leave()
        }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try reader.execute("SELECT writer FROM \(name) ORDER BY position") == [], "nothing visible while A holds the lock, B's row included")
        aGoOn.signal()
        done.wait()
        #expect(try reader.execute("SELECT writer FROM \(name) ORDER BY position") == [[.text("a")], [.text("b")]])
    }
}
