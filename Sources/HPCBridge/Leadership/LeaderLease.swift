import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Which one of several `hpcbridge serve` processes sharing a PostgreSQL database leads (runs the
/// reconcilers): the one whose session holds a PostgreSQL advisory lock, on a connection of its own.
///
/// Why an advisory lock: PostgreSQL releases it the moment the holding session ends (the process died,
/// its connection was closed or terminated), so a dead leader frees the place without any timeout of
/// ours, and the site's own PostgreSQL failover is all the high availability needed.
///
/// The rules that keep two leaders from acting at once:
/// - the leader checks every `checkInterval` that its session still answers and still holds the lock,
///   each check with a deadline of `checkInterval`; when a check fails or does not answer in time, it
///   steps down at once and closes the connection (which frees the lock if the server still had it);
/// - a follower that gets the lock waits `takeoverGrace` (at least one check interval) before it acts,
///   so a leader that lost its session has noticed and stopped by then;
/// - the lease's session asks the server for TCP keepalives that end it after at least twice the
///   longest time a leader takes to notice (a check interval plus a check's deadline): a leader cut off
///   from the database has stepped down well before the server frees its lock, and the lock is freed
///   within seconds of that, not after the kernel's two hours.
/// Takeover after a leader dies therefore takes at most `checkInterval + takeoverGrace` and a connect.
public final class LeaderLease: Service, Sendable {
    public struct Settings: Sendable {
        /// The advisory lock's two keys: the lease's namespace and its purpose (the reconcilers: 1).
        public var keys: (namespace: Int32, purpose: Int32)
        public var checkInterval: Duration
        public var takeoverGrace: Duration

        /// `checkInterval` from the reconcile interval: a leader has stopped, and its successor started,
        /// within two reconcile intervals of its death.
        public init(reconcileInterval: Duration, keys: (namespace: Int32, purpose: Int32) = (0x6862, 1)) {
            self.init(keys: keys, checkInterval: reconcileInterval / 2, takeoverGrace: reconcileInterval / 2)
        }

        public init(keys: (namespace: Int32, purpose: Int32) = (0x6862, 1), checkInterval: Duration, takeoverGrace: Duration) {
            self.keys = keys
            self.checkInterval = checkInterval
            self.takeoverGrace = max(takeoverGrace, checkInterval)
        }
    }

    /// Where this process stands, with why.
    public enum Role: Sendable, Equatable {
        case follower(reason: String)
        case leader(since: Date)

        public var isLeader: Bool { if case .leader = self { true } else { false } }
    }

    private let configuration: PostgresConnection.Configuration
    private let settings: Settings
    private let logger: Logger
    private let onChange: @Sendable (Role) -> Void
    private let state = Mutex<(role: Role, backendPID: Int32?)>((.follower(reason: "not started"), nil))

    public init(configuration: PostgresConnection.Configuration, settings: Settings, logger: Logger = Logger(label: "hpcbridge.leader"),
                onChange: @escaping @Sendable (Role) -> Void = { _ in }) {
        self.configuration = configuration
        self.settings = settings
        self.logger = logger
        self.onChange = onChange
    }

    public var role: Role { state.withLock { $0.role } }
    public var isLeader: Bool { role.isLeader }
    /// The PostgreSQL backend process of the lease's session (for tests and `/metrics`), while connected.
    public var backendPID: Int32? { state.withLock { $0.backendPID } }

    /// The lease's own executor and event loop: its checks keep their timing whatever occupies the
    /// cooperative pool and the shared event loops (HTTP traffic, other connections).
    public static let executor = DispatchTaskExecutor(label: "hpcbridge.leader-lease")
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Holds or waits for the lease until graceful shutdown; then releases it.
    public func run() async throws {
        await withTaskExecutorPreference(Self.executor) { await self.runOnExecutor() }
    }

    private func runOnExecutor() async {
        let last = await cancelWhenGracefulShutdown { await self.hold() }
        if let connection = last {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(settings.keys.namespace), \(settings.keys.purpose))", logger: logger)
            try? await connection.close()
        }
        state.withLock { $0.backendPID = nil }
        change(to: .follower(reason: "stopped"))
    }

    /// The lease's loop until cancelled; returns the session still open then.
    private func hold() async -> PostgresConnection? {
        var connection: PostgresConnection?
        var connections = 0
        while !Task.isCancelled {
            do {
                if connection == nil || connection?.isClosed == true {
                    if isLeader { change(to: .follower(reason: "the lease's database session ended")) }
                    connections += 1
                    connection = try await connect(id: connections)
                }
                let session = connection!
                if isLeader {
                    guard try await holdsLock(on: session) else { throw LeaseLost(reason: "the advisory lock is no longer held by this session") }
                } else if try await ask(session, "SELECT pg_try_advisory_lock(\(settings.keys.namespace), \(settings.keys.purpose))", Bool.self) {
                    // A leader that lost its session stops within one check interval: wait that long.
                    try await Task.sleep(for: settings.takeoverGrace)
                    guard try await holdsLock(on: session) else { throw LeaseLost(reason: "the lock was lost during the takeover grace") }
                    change(to: .leader(since: Date()))
                }
            } catch is CancellationError {
                break
            } catch {
                change(to: .follower(reason: Self.words(of: error)))
                if let closing = connection { try? await closing.close() }
                connection = nil
                state.withLock { $0.backendPID = nil }
            }
            try? await Task.sleep(for: settings.checkInterval)
        }
        return connection
    }

    struct LeaseLost: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    struct NoAnswer: Error, CustomStringConvertible {
        let what: String
        let deadline: Duration
        var description: String { "the database did not answer \(what) within \(deadline)" }
    }

    private func connect(id: Int) async throws -> PostgresConnection {
        var configuration = self.configuration
        configuration.options.connectTimeout = TimeAmount.nanoseconds(Int64(settings.checkInterval.components.seconds) * 1_000_000_000
                                                                      + settings.checkInterval.components.attoseconds / 1_000_000_000)
        let connection = try await PostgresConnection.connect(on: Self.eventLoops.next(), configuration: configuration, id: id, logger: logger)
        do {
            // Keepalives for this session only: the server ends it (and frees the lock) once the peer has
            // been silent for four check intervals (two of noticing, doubled) and three probes.
            let idle = max(5, Int((settings.checkInterval * 4).components.seconds))
            _ = try await ask(connection, """
                SELECT set_config('tcp_keepalives_idle', \(String(idle)), false) || set_config('tcp_keepalives_interval', '2', false)
                       || set_config('tcp_keepalives_count', '3', false)
                """, String.self)
            let pid = try await ask(connection, "SELECT pg_backend_pid()", Int32.self)
            state.withLock { $0.backendPID = pid }
            return connection
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Whether this session holds the lease's lock (which also proves the session answers).
    private func holdsLock(on connection: PostgresConnection) async throws -> Bool {
        let (namespace, purpose) = settings.keys
        return try await ask(connection, """
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                           AND classid::bigint = \(Int64(namespace)) AND objid::bigint = \(Int64(purpose)) AND objsubid = 2)
            """, Bool.self)
    }

    /// One value from one query, within the check interval.
    private func ask<T: PostgresDecodable & Sendable>(_ connection: PostgresConnection, _ query: PostgresQuery, _ type: T.Type) async throws -> T {
        let logger = self.logger
        let deadline = settings.checkInterval
        guard let value = try await Deadline.valueIfReady(within: deadline, of: { () async throws -> T in
            let rows = try await connection.query(query, logger: logger)
            for try await value in rows.decode(T.self) { return value }
            throw LeaseLost(reason: "the query answered no row")
        }) else { throw NoAnswer(what: "a lease check", deadline: deadline) }
        return value
    }

    /// What went wrong, in words: PostgresNIO's errors describe themselves only when reflected (their
    /// plain description hides the server's message); the password is never part of either.
    static func words(of error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return "the database refused: \(message)" }
            return "the database connection failed: \(error.code)"
        }
        return "\(error)"
    }

    /// Records the role; a flip is logged and reported. A follower's reason is kept up to date.
    private func change(to role: Role) {
        let flipped = state.withLock { state -> Bool in
            let flipped = state.role.isLeader != role.isLeader
            if flipped || !role.isLeader { state.role = role }
            return flipped
        }
        guard flipped else { return }
        switch role {
        case .leader: logger.info("this node leads: it runs the reconcilers")
        case .follower(let reason): logger.info("this node follows: another node runs the reconcilers", metadata: ["reason": "\(reason)"])
        }
        onChange(role)
    }
}
