import Foundation
@testable import HPCBridge

/// Settings and bookkeeping shared by the reliability suites (`make reliability`, RELIABILITY.md).
///
/// The suites run apart from `make test`: they stop and start daemons, kill the service and load the
/// cluster, so they run one at a time (`--no-parallel`). `HPCBRIDGE_RELIABILITY=full` selects the sizes
/// RELIABILITY.md reports; the default is the fast subset `.ci/run` uses.
enum ReliabilityRun {
    static let full = ProcessInfo.processInfo.environment["HPCBRIDGE_RELIABILITY"] == "full"

    /// The fast size, or the full one.
    static func size<T>(fast: T, full: T) -> T { Self.full ? full : fast }

    /// A partition with every node that the controller keeps DOWN: jobs submitted to it queue and never
    /// run, so a scenario can submit thousands of jobs and decide itself how they end.
    static let queueOnlyPartition = "hpcbridge_reliability"

    static func makeQueueOnlyPartition() throws {
        try LiveCluster.check()
        let settings = ["PartitionName=\(queueOnlyPartition)", "Nodes=ALL", "State=DOWN", "MaxTime=UNLIMITED"]
        if try runBlocking("/usr/bin/env", ["scontrol", "update"] + settings).status == 0 { return }
        // Not there yet (or another suite just made it): create, then make sure it is as wanted.
        _ = try runBlocking("/usr/bin/env", ["scontrol", "create"] + settings)
        let updated = try runBlocking("/usr/bin/env", ["scontrol", "update"] + settings)
        if updated.status != 0 { throw SchedulerError(.rejected, operation: "scontrol", detail: "cannot make partition \(queueOnlyPartition): \(updated.stderr)") }
    }

    /// Config edits for a service whose groups submit to the queue-only partition with quotas out of the way.
    static let queueOnlyEdits: [(String, String)] = [
        ("partition: debug", "partition: \(queueOnlyPartition)"),
        ("quotas: {max_active_jobs: 200, submissions_per_minute: 120}", "quotas: {max_active_jobs: 100000, submissions_per_minute: 100000}"),
        ("quotas: {max_active_jobs: 100, submissions_per_minute: 60}", "quotas: {max_active_jobs: 100000, submissions_per_minute: 100000}"),
    ]

    /// Records a scenario's figures: printed, and written to var/reliability/NAME.json for RELIABILITY.md.
    static func record(_ name: String, _ figures: [String: JSONValue]) {
        var all = figures
        all["scale"] = .string(full ? "full" : "fast")
        all["recorded_at"] = .string(ISO8601DateFormatter().string(from: Date()))
        let text = JSONValue.object(all).prettyJSON
        print("reliability \(name): \(JSONValue.object(figures).jsonText)")
        try? TestPaths.write(text + "\n", to: TestPaths.root + "/var/reliability/\(name).json")
    }
}

/// A site for scenarios that need jobs to really run: the shipped catalogs and templates plus the
/// `reliability_probe` pipeline (sleep N seconds, exit with code C), copied under the service's root.
enum ProbeSite {
    static let pipeline = "reliability_probe"

    /// Copies catalogs and templates under `root` and returns the config edits that point at them,
    /// allow the probe to both example groups and lift their quotas.
    static func install(under root: String) throws -> [(String, String)] {
        let fm = FileManager.default
        let catalogs = root + "/catalogs", templates = root + "/templates"
        try? fm.removeItem(atPath: catalogs)
        try? fm.removeItem(atPath: templates)
        try fm.copyItem(atPath: TestPaths.catalog, toPath: catalogs)
        try fm.copyItem(atPath: TestPaths.root + "/templates", toPath: templates)
        let fixtures = TestPaths.fixtures + "/reliability"
        try fm.copyItem(atPath: fixtures + "/reliability_probe.yaml", toPath: catalogs + "/reliability_probe.yaml")
        try fm.copyItem(atPath: fixtures + "/reliability_probe.mustache", toPath: templates + "/pipelines/reliability_probe.mustache")
        return [
            ("catalogs: \(TestPaths.catalog)", "catalogs: \(catalogs)"),
            ("templates: \(TestPaths.root)/templates", "templates: \(templates)"),
            // Every group may run the probe, whatever else the shipped config lets it run.
            ("allowed_pipelines: [", "allowed_pipelines: [\(pipeline), "),
        ] + ReliabilityRun.queueOnlyEdits.filter { !$0.0.hasPrefix("partition") }
    }

    /// A probe request: sleeps `seconds`, exits `exitCode`.
    static func request(_ label: String, seconds: Int, exitCode: Int = 0, group: String = "cancer_genomics_lab") -> JSONValue {
        ["pipeline_name": .string(pipeline), "research_group": .string(group), "description": .string("reliability probe \(label)"),
         "parameters": ["sample_id": .string(label), "seconds": .number(Double(seconds)), "exit_code": .number(Double(exitCode))],
         "resources": ["cpus": 1, "memory": "100M", "time_limit": "00:10:00"]]
    }
}

/// Stops and starts the dev cluster's daemons (contrib/dev-cluster), for outage scenarios. Only the dev
/// cluster: the suite must never stop a real site's controller.
enum DevClusterDaemons {
    static let runDirectory = "/run/hpcbridge-dev-cluster"
    static let marker = "/var/lib/hpcbridge-dev-cluster"

    struct NotDevCluster: Error, CustomStringConvertible {
        var description: String { "this scenario stops Slurm daemons, which it does only on the dev cluster (contrib/dev-cluster/up as root); no dev cluster here" }
    }

    static func require() throws {
        try LiveCluster.check()
        guard FileManager.default.fileExists(atPath: marker), FileManager.default.fileExists(atPath: runDirectory + "/slurmctld.pid") else { throw NotDevCluster() }
    }

    /// Stops a daemon (`slurmctld`, `slurmdbd`) by the pid it wrote, and waits until it is gone.
    static func stop(_ daemon: String) async throws {
        let text = try String(contentsOfFile: runDirectory + "/\(daemon).pid", encoding: .utf8)
        guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw NotDevCluster() }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(30)
        while kill(pid, 0) == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }

    /// Starts whatever daemon of the dev cluster is not running (and waits until it answers).
    /// Output goes to a file: a daemon it starts inherits the output, and a pipe would then never close.
    static func startMissing() throws {
        let log = NSTemporaryDirectory() + "hpcbridge-dev-cluster-up.log"
        // posix_spawn + waitpid rather than Foundation's Process: its waitUntilExit once missed this
        // child's exit (the shell was left a zombie and the suite hung).
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", "\"$0\" > \"$1\" 2>&1 < /dev/null", TestPaths.root + "/contrib/dev-cluster/up", log]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else {
            throw SchedulerError(.unavailable, operation: "dev-cluster up", detail: "cannot start /bin/sh")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            throw SchedulerError(.unavailable, operation: "dev-cluster up", detail: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "see \(log)")
        }
    }
}
