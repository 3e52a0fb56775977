import Foundation

/// Everything a scheduler needs to run one batch script. Built from a `RenderedScript`; the library
/// path needs the resources as fields because libslurm does not read `#SBATCH` lines.
///
/// Stored as JSON in the job store as the job's intent, so it must keep decoding what earlier versions
/// stored: fields added later are optional or decode to their default when absent (`init(from:)`).
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
    /// One task per index (a scatter step over a sample sheet) as one scheduler job; nil: a single job.
    public var array: JobArray?
    /// Jobs that must all complete successfully before this one starts (Slurm and PBS `afterok`). Name
    /// only jobs the scheduler still knows: Slurm lifts a dependency on a job it has purged (see docs/runs.md).
    public var afterOK: [NativeJobID]
    /// Cancel the job inside the scheduler when a dependency can no longer be satisfied (Slurm's
    /// KILL_INV_DEP; the cancellation cascades to its own dependants). Without it Slurm leaves the job
    /// pending forever with reason DependencyNeverSatisfied; PBS always deletes such a job.
    public var killOnInvalidDependency: Bool

    public init(script: String, name: String, account: String, partition: String? = nil, qos: String? = nil,
                resources: ResourceRequest, workingDirectory: String, stdoutPath: String, stderrPath: String,
                comment: String, environment: [String: String] = [:], hold: Bool = false,
                array: JobArray? = nil, afterOK: [NativeJobID] = [], killOnInvalidDependency: Bool = false) {
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
        self.array = array
        self.afterOK = afterOK
        self.killOnInvalidDependency = killOnInvalidDependency
    }

    /// Decodes specs stored by every earlier version: those stored before arrays and dependencies have
    /// none, which is what they meant.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            script: try c.decode(String.self, forKey: .script), name: try c.decode(String.self, forKey: .name),
            account: try c.decode(String.self, forKey: .account), partition: try c.decodeIfPresent(String.self, forKey: .partition),
            qos: try c.decodeIfPresent(String.self, forKey: .qos), resources: try c.decode(ResourceRequest.self, forKey: .resources),
            workingDirectory: try c.decode(String.self, forKey: .workingDirectory), stdoutPath: try c.decode(String.self, forKey: .stdoutPath),
            stderrPath: try c.decode(String.self, forKey: .stderrPath), comment: try c.decode(String.self, forKey: .comment),
            environment: try c.decode([String: String].self, forKey: .environment), hold: try c.decode(Bool.self, forKey: .hold),
            array: try c.decodeIfPresent(JobArray.self, forKey: .array),
            afterOK: try c.decodeIfPresent([NativeJobID].self, forKey: .afterOK) ?? [],
            killOnInvalidDependency: try c.decodeIfPresent(Bool.self, forKey: .killOnInvalidDependency) ?? false)
    }

    /// The spec for a rendered script, with the group's partition and qos where the pipeline sets none.
    public init(_ rendered: RenderedScript, group: ResearchGroup, hold: Bool = false) {
        self.init(script: rendered.text, name: rendered.jobName, account: rendered.account,
                  partition: rendered.resources.partition ?? group.partition, qos: rendered.resources.qos ?? group.qos,
                  resources: rendered.resources, workingDirectory: rendered.runDirectory,
                  stdoutPath: rendered.stdoutPath, stderrPath: rendered.stderrPath, comment: rendered.comment, hold: hold)
    }
}

extension BatchJobSpec {
    /// The spec as stored (a job's intent): JSON that `init(from:)` reads back. A single job's spec is
    /// written by hand; one with an array or dependencies (a run's step) through JSONEncoder. By hand
    /// because JSONEncoder's generic containers made this, with its 8 KB script, 3 % of a submission's
    /// CPU; `BatchJobSpecTests` reads both back.
    public func storedJSON() throws -> String {
        guard array == nil, afterOK.isEmpty else { return String(decoding: try JSONEncoder().encode(self), as: UTF8.self) }
        var object = JSONObjectWriter(capacity: script.utf8.count + script.utf8.count / 8 + 1024)
        object.string("script", script)
        object.string("name", name)
        object.string("account", account)
        object.string("partition", partition)
        object.string("qos", qos)
        var resources = JSONObjectWriter()
        resources.integer("cpus", self.resources.cpus)
        resources.integer("memoryMB", self.resources.memoryMB)
        resources.integer("timeLimitSeconds", self.resources.timeLimitSeconds)
        resources.integer("gpus", self.resources.gpus)
        resources.string("partition", self.resources.partition)
        resources.string("qos", self.resources.qos)
        object.json("resources", resources.finished())
        object.string("workingDirectory", workingDirectory)
        object.string("stdoutPath", stdoutPath)
        object.string("stderrPath", stderrPath)
        object.string("comment", comment)
        var variables = JSONObjectWriter()
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) { variables.string(named: name, value) }
        object.json("environment", variables.finished())
        object.bool("hold", hold)
        object.json("afterOK", "[]".utf8)
        object.bool("killOnInvalidDependency", killOnInvalidDependency)
        let out = object.finished()
        return String(decoding: out, as: UTF8.self)
    }
}
