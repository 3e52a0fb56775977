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
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let value = try await call()
            metrics.schedulerCall(cluster: cluster, operation: operation, path: path, seconds: (clock.now - start).inSeconds, error: nil)
            return value
        } catch {
            let kind = (error as? SchedulerError).map { "\($0.kind)" } ?? "other"
            metrics.schedulerCall(cluster: cluster, operation: operation, path: path, seconds: (clock.now - start).inSeconds, error: kind)
            throw error
        }
    }

    public func submit(_ job: BatchJobSpec) async throws -> NativeJobID {
        try await timed("submit") { try await wrapped.submit(job) }
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
