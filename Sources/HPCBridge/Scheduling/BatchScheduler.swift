import Foundation

/// The seam between hpcbridge and a batch system: one small async protocol for Slurm (library or CLI)
/// and PBS, so the reconciler and the API never know which one they talk to.
///
/// `states(changedSince:)` is one call for all jobs: admins ban tools that poll per job.
public protocol BatchScheduler: Sendable {
    /// Which implementation this is, for logs, metrics and `doctor` (`slurm-library`, `slurm-cli`, `pbs-cli`).
    var path: String { get }
    /// Submits a batch script; returns the scheduler's id.
    func submit(_ job: BatchJobSpec) async throws -> NativeJobID
    /// Cancels jobs (no error for one that already finished) in as few controller calls as the backend
    /// allows: one `scancel` or `qdel` for all of them; libslurm 22.05 has no many-job kill, so one RPC
    /// each there. Callers pass only the jobs nothing else cancels: a job that depends on a cancelled one
    /// with KILL_INV_DEP (or PBS's afterok) is ended by the scheduler itself.
    func cancel(_ ids: [NativeJobID]) async throws
    /// What the scheduler allows one submission, from its configuration (Slurm: MaxArraySize).
    func limits() async throws -> SchedulerLimits
    /// Every job the controller knows, changed since `changedSince` where the backend can filter.
    func states(changedSince: Date?) async throws -> SchedulerSnapshot
    /// Final states from accounting for jobs the controller has forgotten.
    func accountingStates(for ids: [NativeJobID], since: Date) async throws -> [NativeJobID: SchedulerJobState]
    /// Jobs in accounting that carry one of these hpcbridge ids, submitted since `since`: how a restarted
    /// service finds a job it submitted but never recorded, after the controller has forgotten it.
    func accountingJobs(tagged tags: Set<UUID>, since: Date) async throws -> [UUID: SchedulerJobState]
    /// The submission as a blocking call on the caller's own thread, for a backend whose submission is
    /// one short call (libslurm's RPC), or nil: a submission lane already on a thread meant for blocking
    /// work then calls it there instead of hopping to the scheduler's pool and back (`SubmissionLane`).
    var blockingSubmit: (@Sendable (BatchJobSpec) throws -> NativeJobID)? { get }
}

extension BatchScheduler {
    /// None by default: the backend's submission runs where `submit` puts it.
    public var blockingSubmit: (@Sendable (BatchJobSpec) throws -> NativeJobID)? { nil }

    /// Cancels one job (no error when it already finished).
    public func cancel(_ id: NativeJobID) async throws {
        try await cancel([id])
    }
}

/// A scheduler call that failed, with what was attempted and whether trying again may help.
public struct SchedulerError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case unavailable, rejected, timeout, malformedOutput, notFound }
    public let kind: Kind
    /// The operation (`submit`, `states`, `cancel`, `accounting`).
    public let operation: String
    public let detail: String
    /// Transient errors (controller down, timeout) are retried with backoff; others are not.
    public var transient: Bool { kind == .unavailable || kind == .timeout }

    public init(_ kind: Kind, operation: String, detail: String) {
        self.kind = kind
        self.operation = operation
        self.detail = detail
    }

    public var description: String { "\(operation) failed: \(detail)" }
}
