import Foundation
import HPCBridge

/// 2. Reconcile cost: one `Reconciler` cycle (the service's own code, in this process) over a store of N
/// submitted jobs that are held in the controller, for the library and the CLI path.
struct ReconcileBenchmark {
    struct Result: Codable, Sendable {
        var jobs: Int
        var path: String
        /// A full cycle (median of five): the controller's data changed (1 % of the jobs were released from
        /// hold, or held again), so the whole snapshot is read and every job compared; 1 % of them move.
        var fullCycleMS: Double
        var fullCycleCPUMS: Double
        var fullCycleTransitions: Int
        var fullCycleControllerRPCs: Int
        /// Every full cycle's wall time (the one above is their median).
        var fullCycles: [Double]
        /// The median over the full cycles of each one's time divided by a controller query alone run
        /// right after it (library path; 0 on the CLI path): the reconcile goal of issue 15.
        var fullCycleOverQuery: Double
        /// The worst case: every job moves in one cycle (here queued to held; after an outage, say).
        var everyJobMovesMS: Double
        var everyJobMovesCPUMS: Double
        var everyJobMovesTransitions: Int
        /// Medians over repeated cycles in which nothing changed.
        var noChangeCycleMS: Double
        var noChangeCycleCPUMS: Double
        var noChangeCycleControllerRPCs: Double
        var noChangeRepetitions: Int
        /// One whole snapshot on its own (`states(changedSince: nil)`: the controller query and its
        /// conversion), median of three: the part of a full cycle that is not hpcbridge's store work.
        var snapshotMS: Double
        /// The controller query alone, median of three: `slurm_load_jobs` and the shim's copy, no Swift
        /// conversion (library path only; 0 on the CLI path). `snapshotMS` minus this is hpcbridge's share.
        var controllerQueryMS: Double
        /// The RPC types the controller counted during the full cycle.
        var fullCycleRPCTypes: [String: Int]
    }

    enum Path: String, CaseIterable, Codable, Sendable { case library, cli }

    /// Both paths unless $HPCBRIDGE_BENCH_RECONCILE_PATH names one (for profiling a single path).
    var paths: [Path] {
        ProcessInfo.processInfo.environment["HPCBRIDGE_BENCH_RECONCILE_PATH"].flatMap(Path.init(rawValue:)).map { [$0] } ?? Path.allCases
    }

    let settings: BenchSettings
    let cluster: BenchCluster
    let workDirectory: String

    func run() async throws -> [Result] {
        try RawLibslurm.requireUsable()
        try await cluster.clear()
        let siteDirectory = workDirectory + "/reconcile-site"
        let site = try Site.load(configPath: try BridgeService.writeSite(in: siteDirectory, repository: settings.repository, cluster: cluster, port: 0))
        let environment = RawLibslurm.processEnvironment
        var held: [(id: UUID, native: UInt32)] = []
        var results: [Result] = []
        for size in settings.reconcileSizes.sorted() {
            let clock = ContinuousClock()
            let start = clock.now
            while held.count < size {
                let id = UUID()
                let job = RawLibslurm.TrivialJob(name: "bench-reconcile", account: cluster.account, partition: cluster.partition,
                                                 comment: "hpcbridge:" + id.uuidString.lowercased(), hold: true)
                held.append((id, try RawLibslurm.submit(job, environment: environment)))
            }
            print(String(format: "  %d held jobs in the controller (topped up in %.1f s)", size, (clock.now - start).milliseconds / 1000))
            for path in paths {
                let result = try await measure(path, jobs: Array(held.prefix(size)), site: site)
                print(String(format: "  %6d jobs  %@  full cycle %8.1f ms (%.2fx the query; cpu %8.1f, %d transitions, %d RPCs)  every job moves %8.1f ms (%d)  no-change %7.3f ms (%.2f RPCs)  snapshot alone %7.1f ms (controller query %6.1f)",
                             size, ReportTable.pad(path.rawValue, 7), result.fullCycleMS, result.fullCycleOverQuery, result.fullCycleCPUMS, result.fullCycleTransitions,
                             result.fullCycleControllerRPCs, result.everyJobMovesMS, result.everyJobMovesTransitions, result.noChangeCycleMS,
                             result.noChangeCycleControllerRPCs, result.snapshotMS, result.controllerQueryMS))
                results.append(result)
            }
        }
        try await cluster.clear()
        return results
    }

    private func measure(_ path: Path, jobs: [(id: UUID, native: UInt32)], site: Site) async throws -> Result {
        let directory = workDirectory + "/reconcile-\(jobs.count)-\(path.rawValue)"
        try? FileManager.default.removeItem(atPath: directory)
        let store = try JobStore(path: directory + "/hpcbridge.sqlite")
        let now = Date()
        try store.insert(contentsOf: jobs.map { Self.submittedJob($0.id, native: $0.native, at: now) }, source: "benchmark")
        let scheduler: any BatchScheduler = path == .library ? try SlurmLibraryScheduler() : SlurmCLIScheduler()
        let reconciler = Reconciler(cluster: "dev", store: store, scheduler: scheduler,
                                    submitter: JobSubmitter(site: site, store: store, schedulers: ["dev": scheduler]),
                                    interval: .seconds(3600), submissionGrace: 3600)

        var snapshots: [Double] = []
        var queries: [Double] = []
        for _ in 0..<3 {
            if path == .library { queries.append(try RawLibslurm.timeJobQuery()) }
            let clock = ContinuousClock()
            let start = clock.now
            _ = try await scheduler.states(changedSince: nil)
            snapshots.append((clock.now - start).milliseconds)
        }

        // The worst case first: every stored job is queued and the controller holds them all.
        let everyJob = try await timedCycle(reconciler)

        var walls: [Double] = []
        var cpus: [Double] = []
        // The CLI path re-reads every job each time (seconds at 50,000 jobs): three repetitions are enough.
        let repetitions = path == .library ? settings.noChangeRepetitions : min(3, settings.noChangeRepetitions)
        let rpcBefore = try await cluster.rpcCounts()
        for _ in 0..<repetitions {
            let cycle = try await timedCycle(reconciler)
            walls.append(cycle.wallMS)
            cpus.append(cycle.cpuMS)
            if cycle.report.transitions != 0 { print("  note: a no-change cycle made \(cycle.report.transitions) transitions") }
        }
        let noChangeRPCs = BenchCluster.rpcDelta(from: rpcBefore, to: try await cluster.rpcCounts()).values.reduce(0, +)

        // Full cycles: 1 % of the jobs are released from hold, or held again (outside the measurement), so
        // the controller has new data and 1 % of the jobs move. Five of them, each next to a controller
        // query alone, because both vary from one moment to the next on a shared machine: the medians,
        // and the median of the five ratios, are what the goal is judged on.
        let moved = jobs.enumerated().filter { $0.offset % 100 == 0 }.map { String($0.element.native) }
        var fulls: [(report: Reconciler.Report, wallMS: Double, cpuMS: Double)] = []
        var fullRPCs: [String: Int] = [:]
        var pairedQueries: [Double] = []
        for round in 0..<(settings.smoke ? 1 : 5) {
            try await cluster.update(round % 2 == 0 ? "release" : "hold", moved)
            let rpcFull = try await cluster.rpcCounts()
            fulls.append(try await timedCycle(reconciler))
            if round == 0 { fullRPCs = BenchCluster.rpcDelta(from: rpcFull, to: try await cluster.rpcCounts()) }
            if path == .library { pairedQueries.append(try RawLibslurm.timeJobQuery()) }
        }
        if fulls.count % 2 == 1 { try await cluster.update("hold", moved) }
        let full = fulls.sorted { $0.wallMS < $1.wallMS }[fulls.count / 2]
        let ratios = zip(fulls, pairedQueries).map { $0.wallMS / $1 }

        return Result(jobs: jobs.count, path: path.rawValue, fullCycleMS: full.wallMS, fullCycleCPUMS: full.cpuMS,
                      fullCycleTransitions: full.report.transitions, fullCycleControllerRPCs: fullRPCs.values.reduce(0, +),
                      fullCycles: fulls.map(\.wallMS), fullCycleOverQuery: ratios.isEmpty ? 0 : Statistics.median(ratios),
                      everyJobMovesMS: everyJob.wallMS, everyJobMovesCPUMS: everyJob.cpuMS, everyJobMovesTransitions: everyJob.report.transitions,
                      noChangeCycleMS: Statistics.median(walls), noChangeCycleCPUMS: Statistics.median(cpus),
                      noChangeCycleControllerRPCs: Double(noChangeRPCs) / Double(max(1, repetitions)),
                      noChangeRepetitions: repetitions, snapshotMS: Statistics.median(snapshots),
                      controllerQueryMS: queries.isEmpty && pairedQueries.isEmpty ? 0 : Statistics.median(queries + pairedQueries), fullCycleRPCTypes: fullRPCs)
    }

    /// One cycle, timed by the wall clock and by CPU time (this process and its children).
    func timedCycle(_ reconciler: Reconciler) async throws -> (report: Reconciler.Report, wallMS: Double, cpuMS: Double) {
        let clock = ContinuousClock()
        let cpu = CPUTime.now()
        let start = clock.now
        let report = try await reconciler.cycle()
        return (report, (clock.now - start).milliseconds, CPUTime.now() - cpu)
    }

    /// A job as the service records it after a submission, pointing at a held job in the controller.
    static func submittedJob(_ id: UUID, native: UInt32, at date: Date) -> Job {
        var job = Job(id: id, state: .queued, pipelineName: "gatk_variant_calling", pipelineVersion: "1.0.0", parametersJSON: "{}",
                      researchGroup: BridgeService.group, description: nil, cluster: "dev", createdAt: date, scriptDigest: "", intentJSON: "{}")
        job.nativeJobID = String(native)
        job.submittedAt = date
        return job
    }
}

/// CPU time (user + system) of this process and of its waited-for children (the CLI path's squeue).
enum CPUTime {
    static func now() -> Double {
        func milliseconds(_ who: __rusage_who) -> Double {
            var usage = rusage()
            getrusage(__rusage_who_t(who.rawValue), &usage)
            return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000
        }
        return milliseconds(RUSAGE_SELF) + milliseconds(RUSAGE_CHILDREN)
    }
}
