import Foundation
import HPCBridge

/// The reconcile benchmark's arrays case: a store of runs whose scatter steps are held job arrays in the
/// controller (10 arrays of 1,000 tasks), each with its dependent step waiting on it. The reconciler
/// folds every task of every array from its one snapshot per cycle and compares it with the stored task.
extension ReconcileBenchmark {
    struct ArrayResult: Codable, Sendable {
        var runs: Int
        var tasksPerArray: Int
        var path: String
        /// Open jobs in the store: each run's array step and its dependent step.
        var openJobs: Int
        /// A full cycle: 1 % of each array's tasks were released from hold (outside the measurement):
        /// Slurm splits each into a record of its own, and the step follows its first task.
        var fullCycleMS: Double
        var fullCycleCPUMS: Double
        var fullCycleTasksMoved: Int
        var fullCycleTransitions: Int
        var fullCycleControllerRPCs: Int
        /// The first cycle: every task moves (queued to held) and every array step with them.
        var everyTaskMovesMS: Double
        var everyTaskMovesCPUMS: Double
        var everyTaskMovesTasks: Int
        var everyTaskMovesTransitions: Int
        /// Medians over repeated cycles in which nothing changed.
        var noChangeCycleMS: Double
        var noChangeCycleCPUMS: Double
        var noChangeCycleControllerRPCs: Double
        var noChangeRepetitions: Int
        /// One whole snapshot (`states(changedSince: nil)`), median of three.
        var snapshotMS: Double
        /// `slurm_load_jobs` alone, median of three (library path only), and the records it returned.
        var controllerQueryMS: Double
        var controllerRecords: Int
        var fullCycleRPCTypes: [String: Int]
    }

    /// Stores `arrayRuns` germline cohort runs of `arrayTasks` samples and submits them once with the
    /// service's own `RunSubmitter` (so the arrays carry the service's index list, throttle, comment
    /// tags and dependency), holds the arrays, then measures each path on a store of its own holding the
    /// same runs, recorded as submitted to those arrays.
    func runArrays() async throws -> [ArrayResult] {
        try RawLibslurm.requireUsable()
        try await cluster.clear()
        if !settings.smoke {
            // The runs benchmark before this one leaves about 12,000 cancelled jobs for the controller to purge.
            let waited = try await cluster.waitForPurge()
            print(String(format: "  waited %.0f s for the controller to purge earlier benchmark jobs", waited))
        }
        let siteDirectory = workDirectory + "/reconcile-arrays-site"
        try? FileManager.default.removeItem(atPath: siteDirectory)
        let site = try Site.load(configPath: try BridgeService.writeSite(in: siteDirectory, repository: settings.repository, cluster: cluster, port: 0))
        let activeLimit = site.config.groups[BridgeService.group]?.maxActiveJobs
        let requests = try (0..<settings.arrayRuns).map { index in
            try RunRequest(document: JSONValue.parse(RunBenchmark.runBody(samples: settings.arrayTasks, cohort: "bench_reconcile_\(index + 1)")))
        }

        let clock = ContinuousClock()
        let start = clock.now
        let scheduler = try SlurmLibraryScheduler()
        let seed = try JobStore(path: siteDirectory + "/seed.sqlite")
        let submitter = RunSubmitter(jobs: JobSubmitter(site: site, store: seed, schedulers: ["dev": scheduler]))
        // Per run: step name to the scheduler job it was submitted as.
        var submitted: [[String: String]] = []
        var arrays: [String] = []
        for request in requests {
            let run = try submitter.accept(request, activeLimit: activeLimit).run
            let steps = try await submitter.submitReadySteps(of: run.id)
            var natives: [String: String] = [:]
            for (step, job) in steps {
                guard let native = job.nativeJobID else { throw BenchError("step \(step.name) of run \(run.id) was not submitted: \(job.state.rawValue)") }
                natives[step.name] = native
                if step.taskCount != nil { arrays.append(native) }
            }
            submitted.append(natives)
        }
        try await cluster.update("hold", arrays)
        let tasks = settings.arrayRuns * settings.arrayTasks
        print(String(format: "  %d runs submitted, %d arrays of %d tasks held (%.1f s)", settings.arrayRuns, arrays.count, settings.arrayTasks,
                     (clock.now - start).milliseconds / 1000))
        // 1 % of each array's tasks (at least one) are released for the full cycle.
        let moved = arrays.flatMap { array in stride(from: 0, to: settings.arrayTasks, by: 100).map { "\(array)_\($0)" } }

        var results: [ArrayResult] = []
        for path in paths {
            let directory = workDirectory + "/reconcile-arrays-\(path.rawValue)"
            try? FileManager.default.removeItem(atPath: directory)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let store = try JobStore(path: directory + "/hpcbridge.sqlite")
            let pathScheduler: any BatchScheduler = path == .library ? try SlurmLibraryScheduler() : SlurmCLIScheduler()
            let runs = RunSubmitter(jobs: JobSubmitter(site: site, store: store, schedulers: ["dev": pathScheduler]))
            var runIDs: [UUID] = []
            let now = Date()
            for (request, natives) in zip(requests, submitted) {
                let run = try runs.accept(request, activeLimit: activeLimit, now: now).run
                for (step, job) in try store.steps(of: run.id) {
                    guard let native = natives[step.name] else { throw BenchError("no scheduler job for step \(step.name)") }
                    _ = try store.recordSubmission(job.id, native: native, source: "benchmark", reason: "submitted as \(native) (benchmark)", at: now)
                    if step.taskCount != nil { try store.markTasksSubmitted(of: run.id, step: step.name) }
                }
                runIDs.append(run.id)
            }
            let result = try await measureArrays(path, store: store, scheduler: pathScheduler, site: site, runIDs: runIDs, moved: moved)
            print(String(format: "  %d x %d tasks  %@  full cycle %8.1f ms (cpu %8.1f, %d tasks moved, %d RPCs)  every task moves %8.1f ms (%d tasks)  no-change %7.3f ms (%.2f RPCs)  snapshot alone %7.1f ms (controller query %6.1f, %d records)",
                         settings.arrayRuns, settings.arrayTasks, ReportTable.pad(path.rawValue, 7), result.fullCycleMS, result.fullCycleCPUMS,
                         result.fullCycleTasksMoved, result.fullCycleControllerRPCs, result.everyTaskMovesMS, result.everyTaskMovesTasks,
                         result.noChangeCycleMS, result.noChangeCycleControllerRPCs, result.snapshotMS, result.controllerQueryMS, result.controllerRecords))
            if result.everyTaskMovesTasks != tasks { print("  note: the first cycle moved \(result.everyTaskMovesTasks) of \(tasks) tasks") }
            results.append(result)
        }
        try await cluster.clear()
        return results
    }

    private func measureArrays(_ path: Path, store: JobStore, scheduler: any BatchScheduler, site: Site, runIDs: [UUID], moved: [String]) async throws -> ArrayResult {
        let reconciler = Reconciler(cluster: "dev", store: store, scheduler: scheduler,
                                    submitter: JobSubmitter(site: site, store: store, schedulers: ["dev": scheduler]),
                                    interval: .seconds(3600), submissionGrace: 3600)
        func heldTasks() throws -> Int {
            try runIDs.map { try store.tasks(of: $0, states: [.held]).count }.reduce(0, +)
        }

        var snapshots: [Double] = []
        var queries: [(milliseconds: Double, records: Int)] = []
        for _ in 0..<3 {
            if path == .library { queries.append(try RawLibslurm.jobQuery()) }
            let clock = ContinuousClock()
            let start = clock.now
            _ = try await scheduler.states(changedSince: nil)
            snapshots.append((clock.now - start).milliseconds)
        }

        // The worst case first: every stored task is queued and the controller holds them all.
        let everyTask = try await timedCycle(reconciler)
        let heldAfterFirst = try heldTasks()

        var walls: [Double] = []
        var cpus: [Double] = []
        let repetitions = path == .library ? settings.noChangeRepetitions : min(3, settings.noChangeRepetitions)
        let rpcBefore = try await cluster.rpcCounts()
        for _ in 0..<repetitions {
            let cycle = try await timedCycle(reconciler)
            walls.append(cycle.wallMS)
            cpus.append(cycle.cpuMS)
            if cycle.report.transitions != 0 { print("  note: a no-change cycle made \(cycle.report.transitions) transitions") }
        }
        let noChangeRPCs = BenchCluster.rpcDelta(from: rpcBefore, to: try await cluster.rpcCounts()).values.reduce(0, +)

        // A full cycle: 1 % of each array's tasks released from hold (outside the measurement), held again after.
        try await cluster.update("release", moved)
        let rpcFull = try await cluster.rpcCounts()
        let full = try await timedCycle(reconciler)
        let fullRPCs = BenchCluster.rpcDelta(from: rpcFull, to: try await cluster.rpcCounts())
        let heldAfterFull = try heldTasks()
        try await cluster.update("hold", moved)

        let openJobs = try await store.nonTerminalJobs(cluster: "dev").count
        return ArrayResult(runs: runIDs.count, tasksPerArray: settings.arrayTasks, path: path.rawValue, openJobs: openJobs,
                           fullCycleMS: full.wallMS, fullCycleCPUMS: full.cpuMS, fullCycleTasksMoved: heldAfterFirst - heldAfterFull,
                           fullCycleTransitions: full.report.transitions, fullCycleControllerRPCs: fullRPCs.values.reduce(0, +),
                           everyTaskMovesMS: everyTask.wallMS, everyTaskMovesCPUMS: everyTask.cpuMS, everyTaskMovesTasks: heldAfterFirst,
                           everyTaskMovesTransitions: everyTask.report.transitions,
                           noChangeCycleMS: Statistics.median(walls), noChangeCycleCPUMS: Statistics.median(cpus),
                           noChangeCycleControllerRPCs: Double(noChangeRPCs) / Double(max(1, repetitions)), noChangeRepetitions: repetitions,
                           snapshotMS: Statistics.median(snapshots),
                           controllerQueryMS: queries.isEmpty ? 0 : Statistics.median(queries.map(\.milliseconds)),
                           controllerRecords: queries.last?.records ?? 0, fullCycleRPCTypes: fullRPCs)
    }
}
