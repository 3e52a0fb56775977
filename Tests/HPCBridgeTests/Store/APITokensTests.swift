import Foundation
import Testing
@testable import HPCBridge

@Suite("API tokens")
struct APITokensTests {
    let store: JobStore
    let tokens: APITokens

    init() throws {
        store = try JobStore(path: try TestPaths.scratchDirectory("tokens") + "/store.sqlite")
        tokens = APITokens(store: store)
    }

    @Test("a token authenticates as its group until revoked; the store holds only a hash")
    func lifecycle() throws {
        let (token, entry) = try tokens.create(group: "cancer_genomics_lab", label: "pipeline bot")
        #expect(token.hasPrefix("hb_\(entry.id)_"))
        #expect(try tokens.authenticate(token) == .group("cancer_genomics_lab"))
        let secret = String(token.split(separator: "_", maxSplits: 2)[2])
        let stored = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT hash FROM apiToken") }
        #expect(stored.count == 1)
        #expect(!stored[0].contains(secret))
        #expect(try tokens.revoke(id: entry.id))
        #expect(try tokens.authenticate(token) == nil)
        #expect(try !tokens.revoke(id: entry.id))
        #expect(try tokens.list().first?.revokedAt != nil)
    }

    @Test("admin tokens, and everything malformed or forged is refused", arguments: [
        "", "hb_", "Bearer x", "hb_12345678_", "hb_1234567_abc", "hb_zzzzzzzz_abc",
    ])
    func refusals(presented: String) throws {
        let (admin, _) = try tokens.create(group: nil, label: nil)
        #expect(try tokens.authenticate(admin) == .admin)
        #expect(try tokens.authenticate(presented) == nil)
        // the right id with a wrong secret
        let id = admin.split(separator: "_")[1]
        #expect(try tokens.authenticate("hb_\(id)_wrongsecret") == nil)
    }

    @Test("constant-time comparison agrees with ==", arguments: [("abc", "abc", true), ("abc", "abd", false), ("abc", "ab", false)])
    func compare(a: String, b: String, equal: Bool) {
        #expect(APITokens.constantTimeEqual(a, b) == equal)
    }
}
