/// Where a job is in hpcbridge's lifecycle.
///
/// `accepted` is durable before any scheduler call: a crash between accepting and submitting leaves an
/// accepted job with its intent, which the reconciler adopts (if the scheduler has a job carrying its
/// id) or submits once. `lost` is reached only when neither the scheduler, accounting nor the job's
/// exit-code file can say what happened.
public enum JobState: String, Sendable, Codable, CaseIterable, Hashable {
    case accepted, queued, held, running, suspended, completed, failed, cancelled, lost

    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .cancelled, .lost: return true
        default: return false
        }
    }

    /// The lifecycle state and failure kind for what a scheduler reports.
    public static func from(_ status: SchedulerStatus) -> (state: JobState, failure: FailureKind?) {
        switch status {
        case .queued: return (.queued, nil)
        case .held: return (.held, nil)
        case .running: return (.running, nil)
        case .suspended: return (.suspended, nil)
        case .completed: return (.completed, nil)
        case .failed(.cancelled): return (.cancelled, .cancelled)
        // Cancelled by the scheduler because an upstream job failed: a failure of the run, not a person's cancel.
        case .failed(.dependencyNeverSatisfied): return (.failed, .dependencyNeverSatisfied)
        case .failed(let kind): return (.failed, kind)
        }
    }

    /// Whether a job may move from this state to `next`. Terminal states are final; a running job goes
    /// back to the queue only through a requeue, which the caller records as one (`isRequeue`).
    public func canMove(to next: JobState, isRequeue: Bool = false) -> Bool {
        if self == next || isTerminal { return false }
        switch (self, next) {
        case (.running, .queued), (.running, .held), (.suspended, .queued), (.suspended, .held):
            return isRequeue
        case (_, .accepted):
            return false
        default:
            return true
        }
    }
}
