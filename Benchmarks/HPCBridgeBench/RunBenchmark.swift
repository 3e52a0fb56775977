import AsyncHTTPClient
import Foundation
import NIOCore

/// 5. Runs: one `germline_cohort` run of N samples through `POST /v1/runs` against the N single jobs it
/// stands for, submitted through `POST /v1/jobs`, an sbatch loop and the raw libslurm loop, and against
/// one `sbatch --array` (the floor for a single array). For each: the wall time until the submitter has
/// its answer, until the controller lists every task, and the controller RPCs that cost (sdiag).
struct RunBenchmark {
    enum Contender: String, CaseIterable, Codable, Sendable {
        case run = "hpcbridge POST /v1/runs (1 run)"
        case sbatchArray = "sbatch --array (1 call)"
        case jobs = "hpcbridge POST /v1/jobs"
        case sbatch = "sbatch --parsable loop"
        case libslurm = "raw libslurm loop"
    }

    struct Trial: Codable, Sendable {
        var contender: Contender
        /// Array tasks or jobs the contender submitted.
        var tasks: Int
        /// HTTP requests, commands or library calls it took.
        var calls: Int
        /// From the first request sent until the last answer was read.
        var acceptedSeconds: Double
        /// From the first request sent until a query of the controller (`squeue -r`, started once every
        /// answer was read) listed every task, and the run's dependent job too.
        var knownSeconds: Double
        /// REQUEST_SUBMIT_BATCH_JOB and every RPC the controller counted from the first request until the
        /// last answer (sdiag; sdiag's own calls and the check of the controller's list left out). For
        /// the service this includes what its reconciler asked meanwhile.
        var submitRPCs: Int
        var totalRPCs: Int
        var rpcTypes: [String: Int]
        var errors: Int
    }

    struct Result: Codable, Sendable {
        var contender: Contender
        var tasks: Int
        var calls: Int
        var trials: [Trial]
        var medianAcceptedSeconds: Double
        var medianKnownSeconds: Double
        var medianSubmitRPCs: Double
        var medianTotalRPCs: Double
        var errors: Int
        /// RPC types counted in any trial, summed over the trials.
        var rpcTypes: [String: Int]
    }

    let settings: BenchSettings
    let cluster: BenchCluster
    let workDirectory: String
    let client: HTTPClient

    /// The most tasks of the run's array running at once: what a group would ask for (`%100`); it only
    /// changes the index list Slurm stores, the jobs never run here.
    static let parallelLimit = 100

    func run() async throws -> [Result] {
        try RawLibslurm.requireUsable()
        try await cluster.clear()
        let samples = settings.runSamples
        guard (1...1000).contains(samples) else { throw BenchError("--run-samples must be 1-1000 (a sample sheet takes at most 1,000 rows); got \(samples)") }
        var trials: [Trial] = []
        let contenders = Contender.allCases
        for round in 0..<settings.trials {
            // Rotate the order each round so no contender always follows the same one.
            let order = (0..<contenders.count).map { contenders[($0 + round) % contenders.count] }
            for contender in order {
                let trial = try await self.trial(contender, samples: samples, round: round)
                print("  round \(round + 1)  " + ReportTable.pad(contender.rawValue, 31)
                      + String(format: "%5d tasks  accepted %8.3f s  all known %8.3f s  submit RPCs %4d  total RPCs %4d  errors %d",
                               trial.tasks, trial.acceptedSeconds, trial.knownSeconds, trial.submitRPCs, trial.totalRPCs, trial.errors))
                trials.append(trial)
                try await cluster.clear()
            }
        }
        return contenders.map { contender in
            let mine = trials.filter { $0.contender == contender }
            return Result(contender: contender, tasks: mine.first?.tasks ?? 0, calls: mine.first?.calls ?? 0, trials: mine,
                          medianAcceptedSeconds: Statistics.median(mine.map(\.acceptedSeconds)),
                          medianKnownSeconds: Statistics.median(mine.map(\.knownSeconds)),
                          medianSubmitRPCs: Statistics.median(mine.map { Double($0.submitRPCs) }),
                          medianTotalRPCs: Statistics.median(mine.map { Double($0.totalRPCs) }),
                          errors: mine.map(\.errors).reduce(0, +),
                          rpcTypes: mine.map(\.rpcTypes).reduce(into: [:]) { $0.merge($1, uniquingKeysWith: +) })
        }
    }

    /// One contender once, on a service of its own for the two hpcbridge contenders (started before the
    /// clock, stopped after the check).
    private func trial(_ contender: Contender, samples: Int, round: Int) async throws -> Trial {
        guard contender == .run || contender == .jobs else { return try await measure(contender, samples: samples, round: round, service: nil) }
        let directory = workDirectory + "/runs-\(round + 1)-\(contender == .run ? "run" : "jobs")"
        try? FileManager.default.removeItem(atPath: directory)
        let service = try await BridgeService.start(binary: settings.hpcbridgeBinary, directory: directory,
                                                    repository: settings.repository, cluster: cluster, client: client)
        do {
            let trial = try await measure(contender, samples: samples, round: round, service: service)
            await service.stop()
            return trial
        } catch {
            await service.stop()
            throw error
        }
    }

    /// Submits, reads sdiag, then checks the controller's list.
    private func measure(_ contender: Contender, samples: Int, round: Int, service: BridgeService?) async throws -> Trial {
        let clock = ContinuousClock()
        let before = try await cluster.rpcCounts()
        let start = clock.now
        var calls = samples
        var errors = 0
        var expected = samples
        switch contender {
        case .run:
            // The array and the joint step's job, which waits for it (afterok).
            expected = samples + 1
            calls = 1
            let body = try Self.runBody(samples: samples, cohort: "bench_cohort_\(round + 1)")
            let response = try await client.execute(service!.request("/v1/runs", method: .POST, json: body), timeout: .seconds(300))
            let text = String(buffer: try await response.body.collect(upTo: 64 << 20))
            guard response.status == .created else {
                throw BenchError("POST /v1/runs of \(samples) samples answered \(response.status.code): \(text.prefix(2000))")
            }
        case .sbatchArray:
            calls = 1
            try await Shell.checked("sbatch", SubmissionBenchmark.sbatchArguments(cluster: cluster, name: "bench-array")
                                    + ["--array=0-\(samples - 1)%\(Self.parallelLimit)"])
        case .jobs:
            let body = try SubmissionBenchmark.hpcbridgeBody(repository: settings.repository)
            let outcome = await HTTPLoad.run(client: client, count: samples, concurrency: settings.httpClients) { _ in
                service!.request("/v1/jobs", method: .POST, json: body)
            }
            errors = outcome.errors(expecting: [201])
            if let first = outcome.failures.first { print("  \(contender.rawValue): \(first)") }
        case .sbatch:
            let arguments = SubmissionBenchmark.sbatchArguments(cluster: cluster, name: "bench-sbatch")
            for _ in 0..<samples {
                do { try await Shell.checked("sbatch", arguments) } catch {
                    errors += 1
                    if errors == 1 { print("  \(contender.rawValue): \(error)") }
                }
            }
        case .libslurm:
            let environment = RawLibslurm.processEnvironment
            let job = RawLibslurm.TrivialJob(name: "bench-libslurm", account: cluster.account, partition: cluster.partition)
            for _ in 0..<samples {
                do { _ = try RawLibslurm.submit(job, environment: environment) } catch {
                    errors += 1
                    if errors == 1 { print("  \(contender.rawValue): \(error)") }
                }
            }
        }
        let accepted = clock.now
        let rpcs = BenchCluster.rpcDelta(from: before, to: try await cluster.rpcCounts())
        let known = try await waitUntilListed(expected - errors, since: start, clock: clock)
        return Trial(contender: contender, tasks: samples, calls: calls, acceptedSeconds: (accepted - start).milliseconds / 1000,
                     knownSeconds: known, submitRPCs: rpcs["REQUEST_SUBMIT_BATCH_JOB"] ?? 0, totalRPCs: rpcs.values.reduce(0, +),
                     rpcTypes: rpcs, errors: errors)
    }

    /// Seconds from `start` until the controller lists `count` pending tasks and jobs in the benchmark
    /// partition (array tasks counted one by one).
    private func waitUntilListed(_ count: Int, since start: ContinuousClock.Instant, clock: ContinuousClock) async throws -> Double {
        let deadline = clock.now + .seconds(300)
        while true {
            let listed = try await cluster.queuedTasks()
            if listed >= count { return (clock.now - start).milliseconds / 1000 }
            guard clock.now < deadline else { throw BenchError("the controller listed \(listed) of \(count) tasks 300 s after submission") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A `germline_cohort` run request for the benchmark group: `samples` rows of CSV text, every read
    /// under the group's input root (the files need not exist: the jobs never run), resources the one
    /// node can hold, and the array throttled to `parallelLimit` tasks at once.
    static func runBody(samples: Int, cohort: String) throws -> String {
        var csv = "sample_id,fastq_r1,fastq_r2\n"
        for row in 0..<samples {
            let sample = String(format: "S%04d", row + 1)
            let directory = "\(BridgeService.inputRoot)/\(cohort)/\(sample)"
            csv += "\(sample),\(directory)/\(sample)_R1.fastq,\(directory)/\(sample)_R2.fastq\n"
        }
        let resources = ["cpus": 1, "memory": "1G", "time_limit": "00:10:00"] as [String: Any]
        let request: [String: Any] = [
            "pipeline_name": "germline_cohort",
            "research_group": BridgeService.group,
            "description": "benchmark cohort of \(samples) samples (partition \(BenchCluster.partition) is DOWN: never runs)",
            "parameters": ["cohort_id": cohort, "reference_genome": "demo_genome", "caller": "bcftools"],
            "samples": csv,
            "resources": ["align": resources, "joint_genotype": resources],
            "parallel_limit": parallelLimit,
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: request, options: [.sortedKeys]), as: UTF8.self)
    }
}
