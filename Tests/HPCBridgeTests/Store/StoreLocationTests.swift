import Foundation
import Testing
@testable import HPCBridge

/// The config's `store:`: a SQLite path or a PostgreSQL URL whose password comes from the environment or
/// a file, never from the config.
@Suite("Store location")
struct StoreLocationTests {
    let base = URL(fileURLWithPath: "/etc/hpcbridge")

    @Test("a path is a SQLite file, relative to the config's directory")
    func sqlite() throws {
        #expect(try StoreLocation.parse("var/hpcbridge.sqlite", passwordFile: nil, environment: [:], base: base) == .sqlite(path: "/etc/hpcbridge/var/hpcbridge.sqlite"))
        #expect(try StoreLocation.parse("/var/lib/hpcbridge/store.sqlite", passwordFile: nil, environment: [:], base: base) == .sqlite(path: "/var/lib/hpcbridge/store.sqlite"))
    }

    @Test("a PostgreSQL URL: host, port, user, database, TLS; the password from the environment first, else the file")
    func postgres() throws {
        let file = try TestPaths.scratchDirectory("store-location") + "/password"
        try "from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try StoreLocation.parse("postgres://hb@db.example.org:6432/hpcbridge?sslmode=require", passwordFile: file, environment: [:], base: base)
        guard case .postgres(let location) = fromFile else { Issue.record("not PostgreSQL: \(fromFile)"); return }
        #expect(location == .init(host: "db.example.org", port: 6432, username: "hb", database: "hpcbridge", password: "from-file", requiresTLS: true))
        #expect(fromFile.description == "postgres://hb@db.example.org:6432/hpcbridge?sslmode=require", "the description must not show the password")
        let fromEnvironment = try StoreLocation.parse("postgresql://hb@127.0.0.1/hpcbridge", passwordFile: file, environment: ["HPCBRIDGE_STORE_PASSWORD": "from-env"], base: base)
        #expect(fromEnvironment == .postgres(.init(host: "127.0.0.1", port: 5432, username: "hb", database: "hpcbridge", password: "from-env", requiresTLS: false)))
    }

    @Test("refused: a password in the URL, no user, no database, unknown options, an unreadable password file", arguments: [
        ("postgres://hb:secret@db/hpcbridge", "holds a password"),
        ("postgres://db/hpcbridge", "names no user"),
        ("postgres://hb@db/", "names no database"),
        ("postgres://hb@db/hpcbridge?application_name=x", "only sslmode"),
        ("postgres://hb@db/hpcbridge", "cannot be read"),
    ])
    func refused(url: String, words: String) {
        do {
            _ = try StoreLocation.parse(url, passwordFile: "/nonexistent/password", environment: [:], base: base)
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.description.contains(words), "\(url): \(error.description)")
            #expect(!error.description.contains("secret"), "the refusal repeats the password")
        }
    }
}
