/// A research group as the site configures it: whose account its jobs are charged to, where their run
/// directories live, and which pipelines it may run. Scheduler-facing names were checked at load time to
/// be safe in directive lines.
public struct ResearchGroup: Sendable, Hashable {
    public let name: String
    public let description: String?
    public let cluster: String
    public let account: String
    public let partition: String?
    public let qos: String?
    /// Each job runs in `run_root/<job id>`.
    public let runRoot: String
    public let allowedPipelines: [String]
    /// Where the group's jobs may read inputs from; `nil` (not configured) leaves every path the service
    /// user can read open to the group, which `hpcbridge validate` warns about.
    public var inputRoots: InputRoots?
    /// Jobs not yet finished that the group may have at once.
    public var maxActiveJobs: Int = 100
    /// Submissions the group may make per minute.
    public var submissionsPerMinute: Int = 60
    /// SHA-256 (hex) of tokens the config declares for the group, besides those in the job store.
    public var tokenHashes: [String] = []
}

/// A scheduler the service submits to.
public struct ClusterConfig: Sendable, Hashable {
    /// The scheduler family.
    public enum Scheduler: String, Sendable, CaseIterable { case slurm, pbs }
    /// How Slurm is reached: libslurm, its CLI, or the library when it loads and the CLI otherwise.
    public enum Mode: String, Sendable, CaseIterable { case auto, library, cli }

    public let name: String
    public let scheduler: Scheduler
    public let mode: Mode
    public let reconcileIntervalSeconds: Double
    /// How long an accepted job is left to the request that accepted it before the reconciler submits
    /// it itself (after a crash, or an outage). Longer than a slow submission, so the two never race.
    public let submissionGraceSeconds: Double
    /// How long a job that the controller no longer lists, and accounting cannot account for, may go
    /// without an exit-code file before it is marked lost (shared file systems show files late).
    public var lostAfterSeconds: Double = 300
}
