import Foundation
import Testing
@testable import HPCBridge

/// Both Slurm paths against the live cluster: every outcome hpcbridge must tell apart.
@Suite("Slurm, live cluster", .enabled(if: LiveCluster.enabled))
struct SlurmIntegrationTests {
    /// Both paths always run: on a cluster whose libslurm cannot be loaded the library cases fail with
    /// the probe's reason rather than disappear.
    static let pathNames = ["slurm-cli", "slurm-library"]

    static func scheduler(_ path: String) throws -> any BatchScheduler {
        path == "slurm-library" ? try SlurmLibraryScheduler() : SlurmCLIScheduler()
    }

    func finish(_ body: String, path: String, seconds: Int = 600, memoryMB: Int = 256) async throws -> SchedulerJobState {
        try LiveCluster.check()
        let scheduler = try Self.scheduler(path)
        let since = Date()
        let spec = try LiveCluster.spec(body, name: "hb-it", seconds: seconds, memoryMB: memoryMB)
        let id = try await scheduler.submit(spec)
        let state = try await LiveCluster.cancelling(id, on: scheduler) { try await LiveCluster.waitFor(id, on: scheduler, since: since) }
        #expect(state.tag?.uuidString.lowercased() == spec.comment.dropFirst("hpcbridge:".count).description, "the job carries its hpcbridge id")
        return state
    }

    @Test("success", arguments: pathNames)
    func success(path: String) async throws {
        let state = try await finish("echo done", path: path)
        #expect(state.status == .completed)
        #expect(state.exit == ProcessExit.success)
    }

    @Test("exit 3", arguments: pathNames)
    func exitCode(path: String) async throws {
        #expect(try await finish("exit 3", path: path).status == .failed(.nonZeroExit(code: 3)))
    }

    @Test("killed by a signal", arguments: pathNames)
    func signal(path: String) async throws {
        #expect(try await finish("kill -9 $$", path: path).status == .failed(.signal(9)))
    }

    /// Slurm's shortest time limit is a minute, so this job holds a CPU for over a minute: one job, read
    /// through both paths, rather than one per path, which kept the 2-CPU dev node full for ~75 s and
    /// made the other tests' jobs wait up to 107 s in the queue (measured with sacct on a CI-like run).
    @Test("time limit exceeded, one job read through both paths")
    func timeLimit() async throws {
        try LiveCluster.check()
        let cli = SlurmCLIScheduler()
        let library = try SlurmLibraryScheduler()
        let since = Date()
        let id = try await cli.submit(try LiveCluster.spec("sleep 300", name: "hb-it", seconds: 60))
        let viaCLI = try await LiveCluster.cancelling(id, on: cli) { try await LiveCluster.waitFor(id, on: cli, since: since) }
        #expect(viaCLI.status == .failed(.timeout))
        #expect(try await LiveCluster.waitFor(id, on: library, since: since).status == .failed(.timeout))
    }

    @Test("memory limit exceeded (the dev cluster enforces it with cgroups)", arguments: pathNames)
    func memory(path: String) async throws {
        let cgroups = (try? String(contentsOfFile: "/etc/slurm/cgroup.conf", encoding: .utf8))?.contains("ConstrainRAMSpace=yes") ?? false
        // The memory is held for 12 s: without cgroups only the accounting poll (every 5 s) sees it.
        let state = try await finish(#"perl -e '$x = "a" x (400 * 1024 * 1024); sleep 12'"#, path: path, memoryMB: 64)
        if cgroups {
            #expect(state.status == .failed(.outOfMemory))
        } else {
            // Without cgroups the poll kills the job (OverMemoryKill), and Slurm does not report it as
            // OUT_OF_MEMORY (see docs/admins.md).
            #expect(state.status != .completed, "\(state.status)")
        }
    }

    @Test("scancel", arguments: pathNames)
    func cancel(path: String) async throws {
        try LiveCluster.check()
        let scheduler = try Self.scheduler(path)
        let since = Date()
        let id = try await scheduler.submit(try LiveCluster.spec("sleep 300", name: "hb-it-cancel"))
        _ = try await LiveCluster.waitFor(id, on: scheduler, since: since) { $0.status == .running || $0.status.isTerminal }
        try await scheduler.cancel(id)
        #expect(try await LiveCluster.waitFor(id, on: scheduler, since: since).status == .failed(.cancelled))
        try await scheduler.cancel(id)  // cancelling a finished job is not an error
    }

    @Test("one cancel call for several jobs, one of them already ended; the controller's MaxArraySize", arguments: pathNames)
    func cancelMany(path: String) async throws {
        try LiveCluster.check()
        let scheduler = try Self.scheduler(path)
        let since = Date()
        let ended = try await scheduler.submit(try LiveCluster.spec("true", name: "hb-it-cancel"))
        #expect(try await LiveCluster.waitFor(ended, on: scheduler, since: since).status == .completed)
        var spec = try LiveCluster.spec("sleep 300", name: "hb-it-cancel")
        spec.hold = true
        let held = try await scheduler.submit(spec)
        let array = try await scheduler.submit({ var s = spec; s.array = try JobArray(indices: [0...2]); return s }())
        try await scheduler.cancel([ended, held, array])
        #expect(try await LiveCluster.waitFor(held, on: scheduler, since: since).status == .failed(.cancelled))
        let tasks = try await scheduler.states(changedSince: nil).arrayTasks(of: array)
        #expect(tasks.isEmpty || tasks.values.allSatisfy { $0.status == .failed(.cancelled) }, "\(tasks)")
        let configured = try #require(try LiveCluster.configValue("MaxArraySize").flatMap { Int($0) })
        #expect(try await scheduler.limits().maxArrayTasks == configured)
    }

    @Test("scontrol requeue returns the job to the queue and counts it, then it completes", arguments: pathNames)
    func requeue(path: String) async throws {
        try LiveCluster.check()
        let scheduler = try Self.scheduler(path)
        let since = Date()
        let marker = NSTemporaryDirectory() + "hpcbridge-it/requeue-\(UUID().uuidString)"
        // The first run sleeps until requeued; the second run finds the marker and ends at once.
        let id = try await scheduler.submit(try LiveCluster.spec("if [ -e \(marker) ]; then exit 0; fi; touch \(marker); sleep 300", name: "hb-it-requeue"))
        _ = try await LiveCluster.waitFor(id, on: scheduler, since: since) { $0.status == .running && FileManager.default.fileExists(atPath: marker) }
        try LiveCluster.scontrol("requeue", id.rawValue)
        let requeued = try await LiveCluster.waitFor(id, on: scheduler, since: since) { $0.restartCount >= 1 && !$0.status.hasStarted }
        #expect(!requeued.status.isTerminal || requeued.status == .completed, "a requeue is never a failure: \(requeued.status)")
        // Slurm lets the requeued job start again once the first run's credential has expired (the dev
        // cluster sets 60 s). Forcing StartTime=now races the node's cleanup: it refuses the launch
        // ("already killed, do not launch batch job") and the job fails.
        let final = try await LiveCluster.waitFor(id, on: scheduler, since: since)
        #expect(final.status == .completed, "\(final.status)")
    }

    @Test("hold and release", arguments: pathNames)
    func holdRelease(path: String) async throws {
        try LiveCluster.check()
        let scheduler = try Self.scheduler(path)
        let since = Date()
        let id = try await scheduler.submit(try LiveCluster.spec("exit 0", name: "hb-it-hold", hold: true))
        let held = try await LiveCluster.waitFor(id, on: scheduler, since: since) { if case .held = $0.status { true } else { false } }
        #expect(held.status == .held(reason: "JobHeldUser"))
        try LiveCluster.scontrol("release", id.rawValue)
        #expect(try await LiveCluster.waitFor(id, on: scheduler, since: since).status == .completed)
    }

    @Test("a job purged from the controller is resolved from accounting", arguments: pathNames)
    func purged(path: String) async throws {
        try LiveCluster.check()
        let scheduler = try Self.scheduler(path)
        let since = Date()
        let spec = try LiveCluster.spec("exit 4", name: "hb-it-purge")
        let tag = try #require(SchedulerJobState.tag(from: spec.comment))
        let id = try await scheduler.submit(spec)
        // Wait until the controller no longer lists the job (MinJobAge), then ask accounting.
        let deadline = Date().addingTimeInterval(300)
        while try await scheduler.states(changedSince: nil).jobs[id] != nil, Date() < deadline {
            try await Task.sleep(for: .seconds(2))
        }
        #expect(try await scheduler.states(changedSince: nil).jobs[id] == nil, "the controller still lists the job")
        let accounted = try await scheduler.accountingStates(for: [id], since: since)
        #expect(accounted[id]?.status == .failed(.nonZeroExit(code: 4)))
        // Found again by its hpcbridge id alone, as a restarted service would look for it.
        let byTag = try await scheduler.accountingJobs(tagged: [tag, UUID()], since: since)
        #expect(byTag.count == 1)
        #expect(byTag[tag]?.id == id)
    }
}

@Suite("Slurm library path, live cluster", .enabled(if: LiveCluster.enabled))
struct SlurmLibraryIntegrationTests {
    /// slurmctld answers "no change" when `last_update - 1 >= last_job_update`, and `last_job_update` is
    /// global: any job of any test moves it. Waiting for a quiet second therefore failed whenever the
    /// rest of the suite kept the controller busy. Both branches are made certain instead: a time the
    /// controller has nothing newer than, and a change made by the test itself after the full answer.
    @Test("an incremental query answers 'no change' when the controller has nothing newer, and every job after a change")
    func incremental() async throws {
        try LiveCluster.check()
        let scheduler = try SlurmLibraryScheduler()
        let before = Date()
        let full = try await scheduler.states(changedSince: nil)
        let after = Date()
        #expect(!full.unchanged)
        // takenAt is the controller's own packing time (whole seconds, same host): what the next query passes.
        #expect(full.takenAt >= before.addingTimeInterval(-1.5) && full.takenAt <= after.addingTimeInterval(1.5),
                "takenAt \(full.takenAt) is not the controller's time between \(before) and \(after)")

        let ahead = Date().addingTimeInterval(3_600)
        let quiet = try await scheduler.states(changedSince: ahead)
        #expect(quiet.unchanged)
        #expect(quiet.jobs.isEmpty)
        #expect(quiet.takenAt == ahead, "an unchanged answer keeps the caller's time for the next query")

        let id = try await scheduler.submit(try LiveCluster.spec("exit 0", name: "hb-it-incremental", hold: true))
        try await LiveCluster.cancelling(id, on: scheduler) {
            let changed = try await scheduler.states(changedSince: full.takenAt)
            #expect(!changed.unchanged, "a job submitted after the full answer is a change")
            #expect(changed.jobs[id] != nil, "the changed answer lists the new job")
            #expect(changed.takenAt >= full.takenAt)
        }
        try await scheduler.cancel(id)
    }

    @Test("the probe reports a usable library matching the headers")
    func probe() throws {
        try LiveCluster.check()
        let status = SlurmLibraryStatus.probe()
        #expect(status.usable, "\(status.reason)")
        #expect(status.headerVersion?.hasPrefix("22.05") == true || status.headerVersion != nil)
        #expect(status.libraryVersion != nil)
    }
}

/// A rendered pipeline script run on the live cluster, forgotten by the controller, with accounting off:
/// its outcome comes from the exit-code file the script itself wrote.
@Suite("Vanished job with accounting off, live cluster", .enabled(if: LiveCluster.enabled))
struct AccountingOffIntegrationTests {
    @Test("resolved from the exit-code file")
    func exitCodeFile() async throws {
        try LiveCluster.check()
        let sandbox = try InjectionSandbox()
        // A client whose slurm.conf says accounting is off: sacct answers "accounting storage is disabled".
        let confDirectory = try TestPaths.scratchDirectory("noaccounting")
        let conf = try String(contentsOfFile: "/etc/slurm/slurm.conf", encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("AccountingStorage") && !$0.hasPrefix("JobAcctGather") }
            .joined(separator: "\n") + "\nAccountingStorageType=accounting_storage/none\n"
        try TestPaths.write(conf, to: confDirectory + "/slurm.conf")
        let scheduler = SlurmCLIScheduler(runner: CommandRunner(environment: ["SLURM_CONF": confDirectory + "/slurm.conf"]))

        // The real gatk script, with the tools replaced by recording stand-ins and a missing input, so the
        // script fails with its own exit code (1) after its prologue set up the exit-code file.
        let pipeline = try sandbox.site.catalog.pipeline(named: "gatk_variant_calling")
        let parameters: JSONValue = [
            "sample_id": "S1", "reference_genome": "hg38", "fastq_r1": "/data/cancer_genomics_lab/missing/R1.fastq.gz", "fastq_r2": "/data/cancer_genomics_lab/missing/R2.fastq.gz",
            "caller": "bcftools", "quality_threshold": 30, "depth_threshold": 10, "min_base_quality": 10,
            "standard_min_confidence": 30, "emit_ref_confidence": "NONE",
        ]
        var group = sandbox.site.config.groups["cancer_genomics_lab"]!
        group = ResearchGroup(name: group.name, description: nil, cluster: group.cluster, account: LiveCluster.account, partition: nil,
                              qos: nil, runRoot: group.runRoot, allowedPipelines: group.allowedPipelines)
        let rendered = try sandbox.site.renderer.render(ScriptRequest(
            jobID: UUID(), pipeline: pipeline, parameters: parameters, group: group, description: "accounting off",
            resources: ResourceRequest(cpus: 1, memoryMB: 256, timeLimitSeconds: 600), scheduler: .slurm))
        try FileManager.default.createDirectory(atPath: rendered.runDirectory, withIntermediateDirectories: true)
        var spec = BatchJobSpec(rendered, group: group)
        spec.environment = ["PATH": sandbox.root + "/bin:/usr/bin:/bin", "HB_TEST_CALLS": sandbox.calls]
        let since = Date()
        let id = try await scheduler.submit(spec)

        let deadline = Date().addingTimeInterval(300)
        while try await scheduler.states(changedSince: nil).jobs[id] != nil, Date() < deadline {
            try await Task.sleep(for: .seconds(2))
        }
        var accountingError: String?
        do {
            _ = try await scheduler.accountingStates(for: [id], since: since)
            Issue.record("sacct should report accounting as disabled")
        } catch let error as SchedulerError {
            accountingError = error.detail
            #expect(error.detail.contains("accounting storage is disabled"))
        }
        let resolution = VanishedJobResolver(exitFileDeadline: 60).resolve(
            accounting: nil, accountingError: accountingError, exitCodePath: rendered.exitCodePath, vanishedAt: Date(), now: Date())
        #expect(resolution == .resolved(.failed(.nonZeroExit(code: 1)), exit: ProcessExit(code: 1), source: "exit-code file"))
        let manifest = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: rendered.manifestPath)))
        #expect(manifest["exit_code"] == 1)
        #expect(manifest["scheduler_job_id"] == .string(id.rawValue))
    }
}
