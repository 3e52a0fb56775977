import Foundation
import GRDB
import Testing
@testable import HPCBridge

/// The token cache: no store query for a known token, a new token works at once, a revocation in this
/// process takes effect before the call returns, and one made by another process (another connection
/// to the file, as `hpcbridge token revoke` is) once the cache refreshes.
@Suite("Token cache")
struct TokenCacheTests {
    @Test("known tokens from memory; new ones at once; revocations here at once, from another process on the next refresh")
    func revocations() async throws {
        let directory = try TestPaths.scratchDirectory("tokens")
        let store = try JobStore(path: directory + "/store.sqlite")
        let cache = TokenCache(store: store)
        let config = TestSite.shipped.config
        let tokens = APITokens(store: store)
        let (first, entry) = try tokens.create(group: "cancer_genomics_lab", label: "a")
        #expect(try await cache.authenticate(first, declaredIn: config) == .group("cancer_genomics_lab"), "a token created a moment ago works")
        let (second, _) = try tokens.create(group: nil, label: "b")
        #expect(try await cache.authenticate(second, declaredIn: config) == .admin)
        #expect(try tokens.revoke(id: entry.id))
        #expect(try await cache.authenticate(first, declaredIn: config) == nil, "revoked in this process: refused at once")

        // Another process revokes the admin token: a separate connection, which this store's observers never hear of.
        let other = try DatabaseQueue(path: directory + "/store.sqlite")
        let adminID = String(second.split(separator: "_")[1])
        try await other.write { db in
            try db.execute(sql: "UPDATE apiToken SET revokedAt = ? WHERE id = ?", arguments: [Date().timeIntervalSinceReferenceDate, adminID])
        }
        try cache.refresh()
        #expect(try await cache.authenticate(second, declaredIn: config) == nil, "revoked by another process: refused after the next refresh")
        #expect(try await cache.authenticate("hb_00000000_nonsense", declaredIn: config) == nil)
        #expect(try await cache.authenticate("not a token", declaredIn: config) == nil)
    }
}
