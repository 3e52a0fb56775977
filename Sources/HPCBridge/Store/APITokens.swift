import Crypto
import Foundation
import GRDB

/// API tokens: one per script or person, bound to a research group (or admin), stored only as a hash.
///
/// A token reads `hb_<id>_<secret>`: the id finds the row, the secret (32 random bytes) is compared by
/// SHA-256 hash in constant time. A random 256-bit secret needs no slow hash; what matters is that the
/// database never holds anything that could be replayed.
public struct APITokens: Sendable {
    let store: JobStore

    public init(store: JobStore) { self.store = store }

    /// A token as listed: everything but the secret.
    public struct Entry: Sendable, Hashable {
        public let id: String
        /// `nil` for an admin token.
        public let researchGroup: String?
        public let label: String?
        public let createdAt: Date
        public let revokedAt: Date?
    }

    /// Who a valid token belongs to.
    public enum Principal: Sendable, Hashable {
        case group(String)
        case admin
    }

    /// Creates a token and returns it; this is the only time the secret exists outside the caller.
    public func create(group: String?, label: String?, now: Date = Date()) throws -> (token: String, entry: Entry) {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in String(format: "%x", Int.random(in: 0..<16, using: &generator)) }.joined()
        let secret = Self.randomSecret()
        let token = "hb_\(id)_\(secret)"
        try store.pool.write { db in
            try db.execute(sql: "INSERT INTO apiToken (id, researchGroup, label, hash, createdAt) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, group, label, Self.hash(secret), now.timeIntervalSinceReferenceDate])
        }
        store.notifyTokensChanged()
        return (token, Entry(id: id, researchGroup: group, label: label, createdAt: now, revokedAt: nil))
    }

    /// Revokes a token by id; `false` when there is no such token.
    @discardableResult
    public func revoke(id: String, now: Date = Date()) throws -> Bool {
        let revoked = try store.pool.write { db in
            try db.execute(sql: "UPDATE apiToken SET revokedAt = ? WHERE id = ? AND revokedAt IS NULL",
                           arguments: [now.timeIntervalSinceReferenceDate, id])
            return db.changesCount > 0
        }
        store.notifyTokensChanged()
        return revoked
    }

    public func list() throws -> [Entry] {
        try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, researchGroup, label, createdAt, revokedAt FROM apiToken ORDER BY createdAt").map { row in
                Entry(id: row["id"], researchGroup: row["researchGroup"], label: row["label"],
                      createdAt: Date(timeIntervalSinceReferenceDate: row["createdAt"]),
                      revokedAt: (row["revokedAt"] as Double?).map(Date.init(timeIntervalSinceReferenceDate:)))
            }
        }
    }

    /// The id and secret of a token of the form `hb_<id>_<secret>`, or nil for anything else.
    static func parse(_ presented: String) -> (id: String, secret: String)? {
        let parts = presented.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "hb", parts[1].count == 8, !parts[2].isEmpty else { return nil }
        return (String(parts[1]), String(parts[2]))
    }

    /// The principal of a presented token, or `nil` for anything malformed, unknown or revoked.
    public func authenticate(_ presented: String) throws -> Principal? {
        guard let (id, secret) = Self.parse(presented) else { return nil }
        let row = try store.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT researchGroup, hash, revokedAt FROM apiToken WHERE id = ?", arguments: [id])
        }
        // Hash and compare even when the id is unknown, so timing does not tell which ids exist.
        let expected: String = row?["hash"] ?? Self.hash("no such token")
        let matches = Self.constantTimeEqual(Self.hash(secret), expected)
        guard let row, matches, (row["revokedAt"] as Double?) == nil else { return nil }
        let group: String? = row["researchGroup"]
        return group.map(Principal.group) ?? .admin
    }

    /// The principal of a token from the store or, failing that, one the config declares by hash
    /// (`admin_token_sha256`, a group's `token_sha256`): for sites that keep tokens in a secret store
    /// and the config under version control.
    public func authenticate(_ presented: String, declaredIn config: BridgeConfig) throws -> Principal? {
        if let principal = try authenticate(presented) { return principal }
        // Every candidate is compared, so the time taken does not tell which one matched.
        return Self.declaredPrincipal(hash: Self.hash(presented), in: config)
    }

    /// How a web session refers to the token it was signed in with, so every page checks that token again
    /// (a revocation or a config reload ends the session at once) without the token being kept anywhere.
    public enum Reference: Sendable, Hashable {
        /// A token in the store, by its id.
        case stored(id: String)
        /// A token the config declares, by the hash the config holds.
        case declared(hash: String)
    }

    /// `authenticate(_:declaredIn:)`, also saying which token matched.
    public func authenticateWithReference(_ presented: String, declaredIn config: BridgeConfig) throws -> (principal: Principal, reference: Reference)? {
        if let principal = try authenticate(presented), let (id, _) = Self.parse(presented) {
            return (principal, .stored(id: id))
        }
        guard let principal = Self.declaredPrincipal(hash: Self.hash(presented), in: config) else { return nil }
        return (principal, .declared(hash: Self.hash(presented)))
    }

    /// The principal a token reference still stands for: nil once the token was revoked, deleted or
    /// dropped from the config.
    public func principal(of reference: Reference, declaredIn config: BridgeConfig) throws -> Principal? {
        switch reference {
        case .stored(let id):
            let row = try store.pool.read { db in
                try Row.fetchOne(db, sql: "SELECT researchGroup, revokedAt FROM apiToken WHERE id = ?", arguments: [id])
            }
            guard let row, (row["revokedAt"] as Double?) == nil else { return nil }
            let group: String? = row["researchGroup"]
            return group.map(Principal.group) ?? .admin
        case .declared(let hash):
            return Self.declaredPrincipal(hash: hash, in: config)
        }
    }

    /// The principal whose config entry declares `hash`, comparing every candidate in constant time.
    static func declaredPrincipal(hash presentedHash: String, in config: BridgeConfig) -> Principal? {
        var found: Principal?
        for candidate in config.adminTokenHashes where Self.constantTimeEqual(presentedHash, candidate) { found = .admin }
        for (name, group) in config.groups {
            for candidate in group.tokenHashes where Self.constantTimeEqual(presentedHash, candidate) { found = .group(name) }
        }
        return found
    }

    /// 32 random bytes, base64url without padding (43 characters): a token's secret, and a web session's
    /// cookie and CSRF token (valid in a cookie and a form field as they are).
    public static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The hash a config declares for a token (`hpcbridge token hash`).
    public static func configHash(of token: String) -> String { hash(token) }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).hexString
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
