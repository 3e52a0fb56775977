import Foundation
import Logging
import PostgresNIO
@testable import HPCBridge

/// The dev PostgreSQL 15 that `contrib/dev-postgres/up` (`make postgres`) brings up on loopback: its URL
/// and password in `var/postgres/`. Tests that need it fail, not skip, with `HPCBRIDGE_REQUIRE_POSTGRES=1`
/// (CI sets it).
enum LivePostgres {
    static let required = ProcessInfo.processInfo.environment["HPCBRIDGE_REQUIRE_POSTGRES"] == "1"
    static var urlFile: String { TestPaths.root + "/var/postgres/url" }
    static var passwordFile: String { TestPaths.root + "/var/postgres/password" }
    static var available: Bool { FileManager.default.fileExists(atPath: passwordFile) }
    static var enabled: Bool { available || required }

    struct NotUp: Error, CustomStringConvertible {
        var description: String { "PostgreSQL is not up: run `make postgres` (contrib/dev-postgres/up, as root)" }
    }

    /// The dev database's location, read as the service reads `store:`.
    static func location() throws -> StoreLocation.PostgresLocation {
        guard let url = try? String(contentsOfFile: urlFile, encoding: .utf8) else { throw NotUp() }
        let parsed = try StoreLocation.parse(url.trimmingCharacters(in: .whitespacesAndNewlines), passwordFile: passwordFile, environment: [:],
                                             base: URL(fileURLWithPath: TestPaths.root))
        guard case .postgres(let location) = parsed else { throw NotUp() }
        return location
    }

    static func configuration() throws -> PostgresConnection.Configuration {
        try location().connectionConfiguration()
    }

    /// Runs `sql` on a connection of its own and returns the first column of each row as text.
    static func query(_ sql: String) async throws -> [String] {
        let connection = try await PostgresConnection.connect(on: LeaderLease.eventLoops.next(), configuration: try configuration(), id: 1,
                                                              logger: Logger(label: "test.postgres"))
        defer { Task { try? await connection.close() } }
        var values: [String] = []
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test.postgres")).decode(String.self) {
            values.append(value)
        }
        return values
    }
}
