import Foundation

/// A `BatchScheduler` that times every call of the one it wraps and counts its errors, so metrics show
/// what hpcbridge costs the controller, per operation and path, without the adapters knowing.
public struct InstrumentedScheduler: BatchScheduler {
    public let wrapped: any BatchScheduler
    public let cluster: String
    public let metrics: BridgeMetrics

    public init(_ wrapped: any BatchScheduler, cluster: String, metrics: BridgeMetrics) {
        self.wrapped = wrapped
        self.cluster = cluster
        self.metrics = metrics
    }

    public var path: String { wrapped.path }

    private func timed<T>(_ operation: String, _ call: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        do {
            let value = try await call()
            count(operation, since: start, error: nil)
            return value
        } catch {
            count(operation, since: start, error: error)
            throw error
        }
    }

    /// Counts one call in the metrics, with its time and its error's kind.
    private func count(_ operation: String, since start: ContinuousClock.Instant, error: (any Error)?) {
        let kind = error.map { ($0 as? SchedulerError).map { "\($0.kind)" } ?? "other" }
        metrics.schedulerCall(cluster: cluster, operation: operation, path: path, seconds: (ContinuousClock.now - start).inSeconds, error: kind)
    }

    public func submit(_ job: BatchJobSpec) async throws -> NativeJobID {
        try await timed("submit") { try await wrapped.submit(job) }
    }

    /// The wrapped backend's blocking submission, timed and counted like `submit`.
    public var blockingSubmit: (@Sendable (BatchJobSpec) throws -> NativeJobID)? {
        guard let submit = wrapped.blockingSubmit else { return nil }
        return { [self] job in
            let start = ContinuousClock.now
            do {
                let id = try submit(job)
                count("submit", since: start, error: nil)
                return id
            } catch {
                count("submit", since: start, error: error)
                throw error
            }
        }
    }

    public func cancel(_ ids: [NativeJobID]) async throws {
        try await timed("cancel") { try await wrapped.cancel(ids) }
    }

    public func limits() async throws -> SchedulerLimits {
        try await timed("limits") { try await wrapped.limits() }
    }

    public func states(changedSince: Date?) async throws -> SchedulerSnapshot {
        try await timed("states") { try await wrapped.states(changedSince: changedSince) }
    }

    public func accountingStates(for ids: [NativeJobID], since: Date) async throws -> [NativeJobID: SchedulerJobState] {
        try await timed("accounting") { try await wrapped.accountingStates(for: ids, since: since) }
    }

    public func accountingJobs(tagged tags: Set<UUID>, since: Date) async throws -> [UUID: SchedulerJobState] {
        try await timed("accounting_by_id") { try await wrapped.accountingJobs(tagged: tags, since: since) }
    }
}
