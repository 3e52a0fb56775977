/// Everything a scheduler needs to run one batch script. Built from a `RenderedScript`; the library
/// path needs the resources as fields because libslurm does not read `#SBATCH` lines.
public struct BatchJobSpec: Sendable, Hashable, Codable {
    public var script: String
    public var name: String
    public var account: String
    public var partition: String?
    public var qos: String?
    public var resources: ResourceRequest
    public var workingDirectory: String
    public var stdoutPath: String
    public var stderrPath: String
    /// `hpcbridge:<uuid>`: how the job is found again after a crash.
    public var comment: String
    /// Extra environment for the job (on top of a minimal PATH/HOME/USER).
    public var environment: [String: String]
    /// Submit held (benchmarks, tests): the job waits until released.
    public var hold: Bool

    public init(script: String, name: String, account: String, partition: String? = nil, qos: String? = nil,
                resources: ResourceRequest, workingDirectory: String, stdoutPath: String, stderrPath: String,
                comment: String, environment: [String: String] = [:], hold: Bool = false) {
        self.script = script
        self.name = name
        self.account = account
        self.partition = partition
        self.qos = qos
        self.resources = resources
        self.workingDirectory = workingDirectory
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        self.comment = comment
        self.environment = environment
        self.hold = hold
    }

    /// The spec for a rendered script, with the group's partition and qos where the pipeline sets none.
    public init(_ rendered: RenderedScript, group: ResearchGroup, hold: Bool = false) {
        self.init(script: rendered.text, name: rendered.jobName, account: rendered.account,
                  partition: rendered.resources.partition ?? group.partition, qos: rendered.resources.qos ?? group.qos,
                  resources: rendered.resources, workingDirectory: rendered.runDirectory,
                  stdoutPath: rendered.stdoutPath, stderrPath: rendered.stderrPath, comment: rendered.comment, hold: hold)
    }
}
