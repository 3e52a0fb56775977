import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// The API tokens in memory, so checking a request's token costs a hash and a dictionary lookup, not a
/// store query.
///
/// The cache stays exact because every change is seen: a token created or revoked in this process
/// (`APITokens` tells the store, the store tells the cache) takes effect before the call returns; one
/// revoked by `hpcbridge token revoke` in another process is seen by `run()`, which compares a cheap
/// fingerprint of the token table every `pollInterval` (100 ms) and reloads it when it changed. A token
/// the cache does not know is looked up in the store, so a new token works at once.
public final class TokenCache: Service, Sendable {
    struct Stored: Sendable {
        let researchGroup: String?
        let hash: String
        let revoked: Bool
    }

    struct Fingerprint: Equatable, Sendable {
        let count: Int
        let revoked: Int
        let lastCreated: Double
        let lastRevoked: Double

        static func read(in db: Database) throws -> Fingerprint {
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), count(revokedAt), coalesce(max(createdAt), 0), coalesce(max(revokedAt), 0) FROM apiToken
                """)!
            return Fingerprint(count: row[0], revoked: row[1], lastCreated: row[2], lastRevoked: row[3])
        }
    }

    private let store: JobStore
    public let pollInterval: Duration
    private let state = Mutex<(tokens: [String: Stored], fingerprint: Fingerprint?)>(([:], nil))
    private let logger: Logger

    /// How often a running service compares the token table's fingerprint.
    public static let defaultPollInterval: Duration = .milliseconds(100)
    /// How long `hpcbridge token revoke` waits after committing before it returns: three of a running
    /// service's checks, so that when the command is done the revocation is in force there too.
    public static let revocationSettles: Duration = defaultPollInterval * 3

    public init(store: JobStore, pollInterval: Duration = TokenCache.defaultPollInterval, logger: Logger = Logger(label: "hpcbridge.tokens")) {
        self.store = store
        self.pollInterval = pollInterval
        self.logger = logger
        store.observeTokens { [weak self] in self?.invalidate() }
    }

    /// The principal of a presented token, or nil for anything malformed, unknown or revoked; tokens the
    /// config declares by hash are checked as `APITokens` does.
    /// A token not in memory (new since the last load, or never issued: any string a client sends) is
    /// looked up in the store on the store's threads, never on the cooperative pool (see
    /// `JobStore.background`).
    public func authenticate(_ presented: String, declaredIn config: BridgeConfig) async throws -> APITokens.Principal? {
        let parsed = APITokens.parse(presented)
        if let (id, secret) = parsed, let known = state.withLock({ $0.tokens[id] }) {
            guard APITokens.constantTimeEqual(APITokens.hash(secret), known.hash), !known.revoked else { return nil }
            return known.researchGroup.map(APITokens.Principal.group) ?? .admin
        }
        // The store decides, and is read again next time.
        return try await store.offload { store in
            let principal = try APITokens(store: store).authenticate(presented, declaredIn: config)
            if principal != nil, parsed != nil { try self.reload() }
            return principal
        }
    }

    /// Forgets everything: the next lookups read the store. Called after a change in this process.
    func invalidate() {
        state.withLock { $0 = ([:], nil) }
    }

    /// Reloads the table when its fingerprint changed since the last load.
    public func refresh() throws {
        let current = try store.pool.read(Fingerprint.read)
        guard current != state.withLock({ $0.fingerprint }) else { return }
        try reload()
    }

    private func reload() throws {
        let (tokens, fingerprint) = try store.pool.read { db -> ([String: Stored], Fingerprint) in
            var tokens: [String: Stored] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, researchGroup, hash, revokedAt FROM apiToken") {
                tokens[row["id"]] = Stored(researchGroup: row["researchGroup"], hash: row["hash"], revoked: (row["revokedAt"] as Double?) != nil)
            }
            return (tokens, try Fingerprint.read(in: db))
        }
        state.withLock { $0 = (tokens, fingerprint) }
    }

    /// Follows changes made by other processes until graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.store.background { _ in try self.refresh() }
                } catch {
                    // Unreadable store: forget what is cached, so requests fall back to the store and fail there visibly.
                    self.invalidate()
                    self.logger.warning("could not read the token table; tokens are looked up one by one", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: self.pollInterval)
            }
        }
    }
}
