import Foundation
import GRDB

/// Signed-in browsers of the web pages: a token presented once on the sign-in form becomes a session
/// cookie, so the token never travels again, never sits in a URL and is never kept by the browser.
///
/// The cookie's value is 32 random bytes; the store keeps only its SHA-256, so a copy of the database
/// opens no session. A session refers to its token (`APITokens.Reference`) and every use checks that
/// token again: revoking it, or removing it from the config, ends its sessions at the next page. Each
/// session also holds the CSRF token its forms carry. Sessions live in the job store so that a restart
/// keeps people signed in (and, with a shared store, every login node knows them).
public struct WebSessions: Sendable {
    let store: JobStore

    public init(store: JobStore) { self.store = store }

    /// One session as the pages use it.
    public struct Session: Sendable, Hashable {
        public let principal: APITokens.Principal
        /// Sent with every form of the session and compared on every POST.
        public let csrfToken: String
        public let expiresAt: Date
    }

    /// Signs a token in: a new session and the cookie value that names it (shown to no one but the
    /// browser). Expired sessions are removed on the way.
    public func create(principal: APITokens.Principal, reference: APITokens.Reference, lifetime: TimeInterval,
                       now: Date = Date()) throws -> (cookie: String, session: Session) {
        let cookie = Self.randomToken()
        let session = Session(principal: principal, csrfToken: Self.randomToken(), expiresAt: now.addingTimeInterval(lifetime))
        var tokenID: String?, declaredHash: String?
        switch reference {
        case .stored(let id): tokenID = id
        case .declared(let hash): declaredHash = hash
        }
        let group: String? = if case .group(let name) = principal { name } else { nil }
        try store.pool.write { db in
            try db.execute(sql: "DELETE FROM webSession WHERE expiresAt <= ?", arguments: [now.timeIntervalSince1970])
            try db.execute(sql: """
                INSERT INTO webSession (cookieHash, tokenID, declaredTokenHash, researchGroup, csrfToken, createdAt, expiresAt)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [Self.hash(cookie), tokenID, declaredHash, group, session.csrfToken,
                                 now.timeIntervalSince1970, session.expiresAt.timeIntervalSince1970])
        }
        return (cookie, session)
    }

    /// The live session a cookie names: nil when unknown, expired, signed out, or when its token no
    /// longer stands for the same principal.
    public func session(cookie: String, declaredIn config: BridgeConfig, now: Date = Date()) throws -> Session? {
        guard Self.plausible(cookie) else { return nil }
        let row = try store.pool.read { db in
            try Row.fetchOne(db, sql: """
                SELECT tokenID, declaredTokenHash, researchGroup, csrfToken, expiresAt FROM webSession WHERE cookieHash = ?
                """, arguments: [Self.hash(cookie)])
        }
        guard let row else { return nil }
        let expiresAt = Date(timeIntervalSince1970: row["expiresAt"])
        guard expiresAt > now else { return nil }
        let reference: APITokens.Reference
        if let id: String = row["tokenID"] {
            reference = .stored(id: id)
        } else if let hash: String = row["declaredTokenHash"] {
            reference = .declared(hash: hash)
        } else {
            return nil
        }
        let group: String? = row["researchGroup"]
        let signedInAs: APITokens.Principal = group.map(APITokens.Principal.group) ?? .admin
        guard let current = try APITokens(store: store).principal(of: reference, declaredIn: config), current == signedInAs else { return nil }
        return Session(principal: current, csrfToken: row["csrfToken"], expiresAt: expiresAt)
    }

    /// Signs out: the cookie names no session from now on.
    public func delete(cookie: String) throws {
        guard Self.plausible(cookie) else { return }
        try store.pool.write { db in
            try db.execute(sql: "DELETE FROM webSession WHERE cookieHash = ?", arguments: [Self.hash(cookie)])
        }
    }

    /// The number of sessions not yet expired (the admin page shows it).
    public func liveCount(now: Date = Date()) throws -> Int {
        try store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM webSession WHERE expiresAt > ?", arguments: [now.timeIntervalSince1970]) ?? 0
        }
    }

    /// A new cookie or CSRF token (`APITokens.randomSecret`).
    public static func randomToken() -> String {
        APITokens.randomSecret()
    }

    /// Compares two secrets in time that does not depend on where they differ.
    public static func sameSecret(_ a: String, _ b: String) -> Bool {
        APITokens.constantTimeEqual(a, b)
    }

    /// Only values `randomToken` could have made are looked up.
    static func plausible(_ cookie: String) -> Bool {
        cookie.utf8.count == 43 && cookie.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    /// What the store keeps of a cookie: its SHA-256, as of a token's secret.
    static func hash(_ cookie: String) -> String {
        APITokens.hash(cookie)
    }
}
