import AsyncHTTPClient
import Foundation
import NIOCore

/// 1. Submission throughput: the same number of jobs through each contender, in rotating order, with
/// the benchmark partition emptied between trials.
struct SubmissionBenchmark {
    enum Contender: String, CaseIterable, Codable, Sendable {
        case libslurm = "raw libslurm loop"
        case libslurmProcesses = "4 raw libslurm processes"
        case sbatch = "sbatch --parsable loop"
        case slurmrestd = "slurmrestd POST job/submit"
        case hpcbridge = "hpcbridge POST /v1/jobs"

        /// The contender's name on the command line (`--contenders`).
        var argument: String {
            switch self {
            case .libslurm: "libslurm"
            case .libslurmProcesses: "libslurm-processes"
            case .sbatch: "sbatch"
            case .slurmrestd: "slurmrestd"
            case .hpcbridge: "hpcbridge"
            }
        }
    }

    struct Trial: Codable, Sendable {
        var contender: Contender
        var jobs: Int
        var seconds: Double
        var jobsPerSecond: Double
        var latencyP50MS: Double
        var latencyP99MS: Double
        var errors: Int
        /// Controller RPCs per submitted job (sdiag delta over the trial).
        var controllerRPCsPerJob: Double
        /// CPU milliseconds per job of the benchmark process itself: the load generator of the HTTP
        /// contenders, the submitting loop of the sequential ones (nil for the separate raw processes).
        /// On a machine of two cores the load generator's CPU is taken from the contender it drives.
        var clientCPUPerJobMS: Double? = nil
    }

    struct Result: Codable, Sendable {
        var contender: Contender
        var clients: Int
        var trials: [Trial]
        var medianJobsPerSecond: Double
        var medianLatencyP50MS: Double
        var medianLatencyP99MS: Double
        var errors: Int
        var controllerRPCsPerJob: Double
        var medianClientCPUPerJobMS: Double?
    }

    let settings: BenchSettings
    let cluster: BenchCluster
    let workDirectory: String
    let client: HTTPClient

    func run() async throws -> [Result] {
        try RawLibslurm.requireUsable()
        try await cluster.clear()
        let restDirectory = workDirectory + "/slurmrestd"
        try FileManager.default.createDirectory(atPath: restDirectory, withIntermediateDirectories: true)
        let slurmrestd = try await SlurmrestdProcess.start(in: restDirectory, client: client)
        defer { slurmrestd.stop() }

        var trials: [Trial] = []
        let contenders = settings.submissionContenders
        for round in 0..<settings.trials {
            // Rotate the order each round so no contender always follows the same one.
            let order = (0..<contenders.count).map { contenders[($0 + round) % contenders.count] }
            for contender in order {
                let before = try await cluster.rpcCounts()
                var trial = try await self.trial(contender, round: round, slurmrestd: slurmrestd)
                let rpcs = BenchCluster.rpcDelta(from: before, to: try await cluster.rpcCounts())
                trial.controllerRPCsPerJob = Double(rpcs.values.reduce(0, +)) / Double(max(1, trial.jobs))
                let queued = try await cluster.queuedJobs()
                if queued != settings.submissionJobs - trial.errors {
                    trial.errors += abs(settings.submissionJobs - queued)
                    print("  warning: \(contender.rawValue) left \(queued) jobs queued, expected \(settings.submissionJobs)")
                }
                print("  round \(round + 1)  " + ReportTable.pad(contender.rawValue, 28) + String(format: "%8.1f jobs/s  p50 %7.2f ms  p99 %7.2f ms  errors %d  client CPU %@ ms/job",
                                                                                         trial.jobsPerSecond, trial.latencyP50MS, trial.latencyP99MS, trial.errors,
                                                                                         trial.clientCPUPerJobMS.map { String(format: "%.2f", $0) } ?? "-"))
                trials.append(trial)
                try await cluster.clear()
                // Cancelled jobs stay in the controller for MinJobAge, and its submit path walks them:
                // without the wait, each trial would run slower than the one before it (a later
                // contender measured against a fuller controller).
                if !settings.smoke { _ = try await cluster.waitForPurge() }
            }
        }
        return contenders.map { contender in
            let mine = trials.filter { $0.contender == contender }
            return Result(contender: contender, clients: clients(of: contender), trials: mine,
                          medianJobsPerSecond: Statistics.median(mine.map(\.jobsPerSecond)),
                          medianLatencyP50MS: Statistics.median(mine.map(\.latencyP50MS)),
                          medianLatencyP99MS: Statistics.median(mine.map(\.latencyP99MS)),
                          errors: mine.map(\.errors).reduce(0, +),
                          controllerRPCsPerJob: Statistics.median(mine.map(\.controllerRPCsPerJob)),
                          medianClientCPUPerJobMS: mine.compactMap(\.clientCPUPerJobMS).isEmpty ? nil : Statistics.median(mine.compactMap(\.clientCPUPerJobMS)))
        }
    }

    func clients(of contender: Contender) -> Int {
        switch contender {
        case .libslurm, .sbatch: 1
        case .libslurmProcesses: RawLibslurm.concurrentProcesses
        case .slurmrestd, .hpcbridge: settings.httpClients
        }
    }

    private func trial(_ contender: Contender, round: Int, slurmrestd: SlurmrestdProcess) async throws -> Trial {
        let jobs = settings.submissionJobs
        switch contender {
        case .libslurm:
            let environment = RawLibslurm.processEnvironment
            let job = RawLibslurm.TrivialJob(name: "bench-libslurm", account: cluster.account, partition: cluster.partition)
            return try await timedLoop(contender, jobs: jobs) { _ in _ = try RawLibslurm.submit(job, environment: environment) }
        case .libslurmProcesses:
            return try await concurrentProcesses(jobs: jobs)
        case .sbatch:
            let arguments = Self.sbatchArguments(cluster: cluster, name: "bench-sbatch")
            return try await timedLoop(contender, jobs: jobs) { _ in try await Shell.checked("sbatch", arguments) }
        case .slurmrestd:
            let body = Self.slurmrestdBody(account: cluster.account, partition: cluster.partition)
            let request = SocketLoad.request(method: "POST", path: "/slurm/\(SlurmrestdProcess.apiVersion)/job/submit", host: "localhost",
                                             headers: [("Content-Type", "application/json")], body: body)
            let outcome = await SocketLoad.run(.unix(path: slurmrestd.socketPath), request: request, count: jobs, concurrency: settings.httpClients)
            return Trial(contender, outcome, expecting: [200])
        case .hpcbridge:
            let directory = workDirectory + "/submission-\(round + 1)"
            try? FileManager.default.removeItem(atPath: directory)
            let service = try await BridgeService.start(binary: settings.hpcbridgeBinary, directory: directory,
                                                        repository: settings.repository, cluster: cluster, client: client)
            let body = try Self.hpcbridgeBody(repository: settings.repository)
            let request = SocketLoad.request(method: "POST", path: "/v1/jobs", host: "127.0.0.1:\(service.port)",
                                             headers: [("Authorization", "Bearer \(service.token)"), ("Content-Type", "application/json")], body: body)
            let outcome = await SocketLoad.run(.tcp(host: "127.0.0.1", port: UInt16(service.port)), request: request, count: jobs,
                                               concurrency: settings.httpClients)
            await service.stop()
            return Trial(contender, outcome, expecting: [201])
        }
    }

    /// A sequential loop, timed per call.
    private func timedLoop(_ contender: Contender, jobs: Int, _ submit: (Int) async throws -> Void) async throws -> Trial {
        let clock = ContinuousClock()
        var latencies: [Double] = []
        var errors = 0
        let cpuBefore = processCPUSeconds()
        let start = clock.now
        for index in 0..<jobs {
            let sent = clock.now
            do { try await submit(index) } catch {
                errors += 1
                if errors == 1 { print("  \(contender.rawValue): \(error)") }
            }
            latencies.append((clock.now - sent).milliseconds)
        }
        let seconds = (clock.now - start).milliseconds / 1000
        return Trial(contender: contender, jobs: jobs, seconds: seconds, jobsPerSecond: Double(jobs - errors) / seconds,
                     latencyP50MS: Statistics.percentile(latencies, 50), latencyP99MS: Statistics.percentile(latencies, 99),
                     errors: errors, controllerRPCsPerJob: 0, clientCPUPerJobMS: (processCPUSeconds() - cpuBefore) * 1000 / Double(jobs))
    }

    /// `RawLibslurm.concurrentProcesses` copies of this benchmark binary, each a raw libslurm loop over its
    /// share of the jobs, started together: how fast the controller takes jobs from several clients at
    /// once, with nothing in between. Throughput is over the span from the first worker's first call to
    /// the last worker's last answer (process start-up is not counted).
    private func concurrentProcesses(jobs: Int) async throws -> Trial {
        let workers = RawLibslurm.concurrentProcesses
        let shares = (0..<workers).map { jobs / workers + ($0 < jobs % workers ? 1 : 0) }
        let binary = CommandLine.arguments[0].hasPrefix("/") ? CommandLine.arguments[0]
            : FileManager.default.currentDirectoryPath + "/" + CommandLine.arguments[0]
        let reports = try await withThrowingTaskGroup(of: RawLibslurm.WorkerReport.self) { group in
            for share in shares {
                group.addTask {
                    let output = try await Shell.checked(binary, ["--raw-submit-worker", "\(share)", "--account", cluster.account])
                    guard let line = output.split(separator: "\n").last,
                          let report = try? JSONDecoder().decode(RawLibslurm.WorkerReport.self, from: Data(line.utf8)) else {
                        throw BenchError("a raw libslurm worker printed no report: \(output.suffix(300))")
                    }
                    return report
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let seconds = (reports.map(\.lastAnswer).max()! - reports.map(\.firstCall).min()!)
        let errors = reports.map(\.errors).reduce(0, +)
        if let first = reports.compactMap(\.firstError).first { print("  \(Contender.libslurmProcesses.rawValue): \(first)") }
        let latencies = reports.flatMap(\.latenciesMS)
        return Trial(contender: .libslurmProcesses, jobs: jobs, seconds: seconds, jobsPerSecond: Double(jobs - errors) / seconds,
                     latencyP50MS: Statistics.percentile(latencies, 50), latencyP99MS: Statistics.percentile(latencies, 99),
                     errors: errors, controllerRPCsPerJob: 0)
    }

    /// `sbatch` arguments for the same trivial job as the other contenders.
    static func sbatchArguments(cluster: BenchCluster, name: String) -> [String] {
        ["--parsable", "-J", name, "-A", cluster.account, "-p", cluster.partition, "-o", "/dev/null",
         "-D", "/tmp", "-c", "1", "--mem=100", "-t", "1", "--wrap", "true"]
    }

    /// The same trivial job as the other contenders, in slurmrestd v0.0.38's submit format.
    static func slurmrestdBody(account: String, partition: String) -> String {
        let environment = ProcessInfo.processInfo.environment
        let job: [String: Any] = [
            "name": "bench-slurmrestd", "account": account, "partition": partition, "current_working_directory": "/tmp",
            "standard_output": "/dev/null", "standard_error": "/dev/null", "cpus_per_task": 1, "memory_per_node": 100,
            "time_limit": 1, "environment": environment,
        ]
        let data = try! JSONSerialization.data(withJSONObject: ["script": "#!/bin/sh\ntrue\n", "job": job], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// The repository's GATK example request for the benchmark group, with resources the one node can
    /// hold and its reads under the group's input root: the whole path (validation of a real catalog,
    /// the input-root check, rendering of a real template) is exercised.
    static func hpcbridgeBody(repository: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: repository + "/config/examples/gatk_variant_calling.json"))
        guard var request = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              var parameters = request["parameters"] as? [String: Any] else {
            throw BenchError("config/examples/gatk_variant_calling.json is not a JSON object with parameters")
        }
        for key in ["fastq_r1", "fastq_r2"] {
            guard let path = parameters[key] as? String else { throw BenchError("config/examples/gatk_variant_calling.json has no parameter \(key)") }
            parameters[key] = BridgeService.inputRoot + "/" + (path as NSString).lastPathComponent
        }
        request["parameters"] = parameters
        request["research_group"] = BridgeService.group
        request["resources"] = ["cpus": 1, "memory": "1G", "time_limit": "00:10:00"]
        return String(decoding: try JSONSerialization.data(withJSONObject: request, options: [.sortedKeys]), as: UTF8.self)
    }
}

extension SubmissionBenchmark.Trial {
    init(_ contender: SubmissionBenchmark.Contender, _ outcome: LoadOutcome, expecting expected: Set<Int>) {
        let errors = outcome.errors(expecting: expected)
        if let first = outcome.failures.first { print("  \(contender.rawValue): \(first)") }
        self.init(contender: contender, jobs: outcome.completed + outcome.failures.count, seconds: outcome.seconds,
                  jobsPerSecond: Double(outcome.completed - (errors - outcome.failures.count)) / max(outcome.seconds, 1e-9),
                  latencyP50MS: Statistics.percentile(outcome.latenciesMS, 50), latencyP99MS: Statistics.percentile(outcome.latenciesMS, 99),
                  errors: errors, controllerRPCsPerJob: 0,
                  clientCPUPerJobMS: outcome.clientCPUSeconds * 1000 / Double(max(1, outcome.completed + outcome.failures.count)))
    }
}
