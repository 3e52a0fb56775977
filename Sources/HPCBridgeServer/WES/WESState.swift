import HPCBridge

/// GA4GH WES's states, and how hpcbridge's lifecycle maps onto them (README has the table).
///
/// WES tells apart who failed: EXECUTOR_ERROR when the work itself failed (it exited non-zero, was
/// killed by a signal, ran out of memory or time, or a step it needs failed), SYSTEM_ERROR when the
/// system did (a node failed, the job could not boot or launch, the scheduler lost it). A preempted job
/// is PREEMPTED and a suspended one PAUSED. A run a person cancelled is CANCELING until the scheduler has
/// ended each of its steps, then CANCELED.
enum WESState: String, Sendable, CaseIterable {
    case unknown = "UNKNOWN"
    case queued = "QUEUED"
    case initializing = "INITIALIZING"
    case running = "RUNNING"
    case paused = "PAUSED"
    case complete = "COMPLETE"
    case executorError = "EXECUTOR_ERROR"
    case systemError = "SYSTEM_ERROR"
    case canceled = "CANCELED"
    case canceling = "CANCELING"
    case preempted = "PREEMPTED"

    /// Failure kinds (`FailureKind.label`) that are the system's fault, not the work's.
    static let systemFailures: Set<String> = ["node_failure", "boot_failure", "launch_failure"]

    /// A job's or task's state. `cancelling`: a person asked to cancel its run and it has not ended yet.
    static func of(_ state: JobState, failureKind: String?, cancelling: Bool = false) -> WESState {
        if cancelling, !state.isTerminal { return .canceling }
        switch state {
        case .accepted, .queued, .held: return .queued
        case .running: return .running
        case .suspended: return .paused
        case .completed: return .complete
        case .cancelled: return .canceled
        case .lost: return .systemError
        case .failed:
            if failureKind == "preempted" { return .preempted }
            return failureKind.map(systemFailures.contains) == true ? .systemError : .executorError
        }
    }

    /// A step as the run's state sees it.
    typealias Step = (state: JobState, failureKind: String?)

    /// A run's state, from its steps (in their order) as `Run.state(of:)` derives hpcbridge's: a failed
    /// run takes the WES state of the step whose failure decided it.
    static func of(run steps: [Step], cancelRequested: Bool) -> WESState {
        let state = Run.state(of: steps.map(\.state))
        if cancelRequested, !state.isTerminal { return .canceling }
        switch state {
        case .running where !steps.contains(where: { $0.state == .running }) && steps.contains(where: { $0.state == .suspended }):
            return .paused
        case .failed:
            guard let decisive = decisiveFailure(in: steps) else { return .executorError }
            return of(decisive.state, failureKind: decisive.failureKind)
        default:
            return of(state, failureKind: nil)
        }
    }

    /// The step whose failure decided a failed run: the first that failed or was lost for a reason of
    /// its own (a step cancelled because one it needs failed is a consequence, not the cause).
    static func decisiveFailure(in steps: [Step]) -> Step? {
        let failed = steps.filter { $0.state == .failed || $0.state == .lost }
        return failed.first { $0.failureKind != FailureKind.dependencyNeverSatisfied.label } ?? failed.first
    }
}
