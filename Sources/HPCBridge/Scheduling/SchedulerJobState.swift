import Foundation

/// Where a job is in its life, as a scheduler reports it, mapped onto hpcbridge's lifecycle.
public enum SchedulerStatus: Sendable, Hashable {
    /// Waiting to start, with the scheduler's reason (`Priority`, `Resources`, ...).
    case queued(reason: String?)
    /// Will not start until someone releases it (`JobHeldUser`, `JobHeldAdmin`, PBS `H`).
    case held(reason: String?)
    case running
    /// Stopped while running (Slurm SUSPENDED/STOPPED, PBS S/U).
    case suspended
    /// Finished with exit code 0.
    case completed
    /// Finished any other way; the kind says which.
    case failed(FailureKind)

    /// True once the job has run (or is running): its start time is real, not an estimate.
    public var hasStarted: Bool {
        switch self {
        case .queued, .held: return false
        default: return true
        }
    }

    /// True for completed and failed: nothing more will happen to the job.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed: return true
        default: return false
        }
    }
}

/// Why a job did not complete. Each is distinct because each calls for a different action: raise the
/// time limit, the memory, resubmit after a node failure, fix the input.
public enum FailureKind: Sendable, Hashable, Codable {
    case nonZeroExit(code: Int)
    case signal(Int)
    case timeout
    case outOfMemory
    case nodeFailure
    case bootFailure
    case deadline
    case preempted
    case launchFailure
    case cancelled
    /// Cancelled by the scheduler, not by a person: a job it depends on (afterok) failed, so it could
    /// never start (Slurm: CANCELLED with reason DependencyNeverSatisfied, under KILL_INV_DEP; PBS
    /// deletes such a job). The cause is upstream: fix the failed step, not this one.
    case dependencyNeverSatisfied

    /// A stable label for APIs and metrics (`non_zero_exit`, `out_of_memory`, ...).
    public var label: String {
        switch self {
        case .nonZeroExit: return "non_zero_exit"
        case .signal: return "signal"
        case .timeout: return "timeout"
        case .outOfMemory: return "out_of_memory"
        case .nodeFailure: return "node_failure"
        case .bootFailure: return "boot_failure"
        case .deadline: return "deadline"
        case .preempted: return "preempted"
        case .launchFailure: return "launch_failure"
        case .cancelled: return "cancelled"
        case .dependencyNeverSatisfied: return "dependency_failed"
        }
    }
}

/// One job as one scheduler query saw it.
public struct SchedulerJobState: Sendable, Hashable {
    public var id: NativeJobID
    /// The hpcbridge job id carried in the job (Slurm comment `hpcbridge:<uuid>`, PBS variable).
    public var tag: UUID?
    public var name: String?
    public var status: SchedulerStatus
    /// The scheduler's own words: `FAILED`, `PENDING+REQUEUED`, `F/93`.
    public var rawState: String
    public var reason: String?
    public var exit: ProcessExit?
    public var submitTime: Date?
    public var startTime: Date?
    public var endTime: Date?
    /// How often the scheduler requeued the job; a rise between two snapshots is a requeue.
    public var restartCount: Int
    /// Set when the record belongs to a job array: which array, which task, or which tasks still wait.
    public var array: ArrayMembership?

    public init(id: NativeJobID, tag: UUID? = nil, name: String? = nil, status: SchedulerStatus, rawState: String, reason: String? = nil,
                exit: ProcessExit? = nil, submitTime: Date? = nil, startTime: Date? = nil, endTime: Date? = nil, restartCount: Int = 0,
                array: ArrayMembership? = nil) {
        self.id = id
        self.tag = tag
        self.name = name
        self.status = status
        self.rawState = rawState
        self.reason = reason
        self.exit = exit
        self.submitTime = submitTime
        self.startTime = startTime
        self.endTime = endTime
        self.restartCount = restartCount
        self.array = array
    }

    /// The id of the submission this record came from: the array's id for every record of an array
    /// (its tasks and the record of those still pending), the job's own id otherwise.
    public var submissionID: NativeJobID { array?.arrayJobID ?? id }

    /// The states among `states` that carry one of `tags`, by tag. When two submissions carry the same
    /// tag, the lower submission id wins: the first submission. The records of one array (every task
    /// carries the array's comment) are one submission, not duplicates; of those, the record of the
    /// pending tasks is preferred, then the lowest task.
    public static func tagged(_ states: some Sequence<SchedulerJobState>, in tags: Set<UUID>? = nil) -> [UUID: SchedulerJobState] {
        var found: [UUID: SchedulerJobState] = [:]
        for state in states {
            guard let tag = state.tag, tags?.contains(tag) ?? true else { continue }
            if let other = found[tag], other.precedes(state) { continue }
            found[tag] = state
        }
        return found
    }

    /// Order among records carrying the same tag: by submission, then the array's pending record
    /// before its tasks, then by task.
    private func precedes(_ other: SchedulerJobState) -> Bool {
        if submissionID != other.submissionID { return submissionID < other.submissionID }
        switch (array?.taskIndex, other.array?.taskIndex) {
        case (nil, _): return true
        case (_, nil): return false
        case let (a?, b?): return a < b
        }
    }

    /// The job UUID from a Slurm comment or PBS variable value `hpcbridge:<uuid>` (or a bare UUID).
    /// Called for every job of every snapshot, most of them not hpcbridge's: byte work on the UTF-8 view
    /// (Foundation's trimming, and then Character comparisons, each took a third or more of a snapshot's
    /// conversion time in the profile).
    public static func tag(from text: String?) -> UUID? {
        guard let text else { return nil }
        var bytes = text.utf8[...]
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
        if bytes.starts(with: tagPrefix) { bytes = bytes.dropFirst(tagPrefix.count) }
        return UUID(canonicalUTF8: bytes)
    }

    private static let tagPrefix = Array("hpcbridge:".utf8)
}

/// All jobs a scheduler knows, from one query.
public struct SchedulerSnapshot: Sendable {
    /// When the scheduler answered.
    public var takenAt: Date
    public var jobs: [NativeJobID: SchedulerJobState]
    /// True when the scheduler said nothing changed since the time asked about (libslurm's
    /// SLURM_NO_CHANGE_IN_DATA); `jobs` is then empty and the previous snapshot still holds.
    public var unchanged: Bool

    public init(takenAt: Date, jobs: [NativeJobID: SchedulerJobState], unchanged: Bool = false) {
        self.takenAt = takenAt
        self.jobs = jobs
        self.unchanged = unchanged
    }

    /// A full snapshot from the states a query returned (a repeated id keeps its last record).
    public init(takenAt: Date, states: [SchedulerJobState]) {
        self.init(takenAt: takenAt, jobs: Dictionary(states.map { ($0.id, $0) }, uniquingKeysWith: { $1 }))
    }
}
