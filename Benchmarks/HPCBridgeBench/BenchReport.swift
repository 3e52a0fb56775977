import Foundation

/// One run of the harness: where it ran, what it measured, and how that compares with the goals.
struct BenchReport: Codable, Sendable {
    struct Machine: Codable, Sendable {
        var cpus: Int
        var cpuModel: String
        var memoryGB: Double
        var kernel: String
        var slurm: String
        var commit: String
        var binary: String
    }

    struct Goal: Codable, Sendable {
        var name: String
        var target: String
        var measured: String
        /// nil when the run did not measure it (a part was skipped).
        var met: Bool?
    }

    var startedAt: Date
    var finishedAt: Date?
    var command: String
    var machine: Machine
    var settings: BenchSettings
    var submission: [SubmissionBenchmark.Result] = []
    var reconcile: [ReconcileBenchmark.Result] = []
    var reads: [ReadBenchmark.Result] = []
    var scrape: [ScrapeBenchmark.Result] = []
    var runs: [RunBenchmark.Result] = []
    var arrayReconcile: [ReconcileBenchmark.ArrayResult] = []
    var goals: [Goal] = []

    static func machine(repository: String, binary: String) async -> Machine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown"
        let commit = (try? await Shell.checked("git", ["-C", repository, "rev-parse", "--short", "HEAD"]))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        let kernel = (try? await Shell.checked("uname", ["-r"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        return Machine(cpus: ProcessInfo.processInfo.activeProcessorCount, cpuModel: model,
                       memoryGB: Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824, kernel: kernel,
                       slurm: await BenchCluster.version(), commit: commit, binary: binary)
    }

    /// The goals of issue 6, judged on this run's medians.
    mutating func judgeGoals() {
        goals = []
        func rate(_ contender: SubmissionBenchmark.Contender) -> Double? {
            submission.first { $0.contender == contender }?.medianJobsPerSecond
        }
        if let bridge = rate(.hpcbridge) {
            for (other, factor) in [(SubmissionBenchmark.Contender.libslurm, 0.8), (.libslurmProcesses, 0.5), (.slurmrestd, 2.0), (.sbatch, 4.0)] {
                guard let baseline = rate(other), baseline > 0 else { continue }
                let ratio = bridge / baseline
                goals.append(Goal(name: "submission: hpcbridge vs \(other.rawValue)", target: String(format: ">= %.1fx", factor),
                                  measured: String(format: "%.2fx (%.0f vs %.0f jobs/s)", ratio, bridge, baseline), met: ratio >= factor))
            }
        }
        let library = reconcile.filter { $0.path == ReconcileBenchmark.Path.library.rawValue }
        if !reconcile.isEmpty {
            let calls = reconcile.map { "\($0.path) \($0.jobs): \($0.fullCycleControllerRPCs) / \(String(format: "%.2g", $0.noChangeCycleControllerRPCs))" }
            let oneCall = reconcile.allSatisfy { $0.fullCycleControllerRPCs <= 1 && $0.noChangeCycleControllerRPCs <= 1.0 }
            goals.append(Goal(name: "reconcile: controller calls per cycle (full / no-change)", target: "1 whatever the job count",
                              measured: calls.joined(separator: ", "), met: oneCall))
        }
        if !library.isEmpty {
            let worst = library.max { $0.noChangeCycleMS < $1.noChangeCycleMS }!
            goals.append(Goal(name: "reconcile: no-change cycle, library path", target: "< 5 ms",
                              measured: library.map { String(format: "%d jobs: %.2f ms", $0.jobs, $0.noChangeCycleMS) }.joined(separator: ", "),
                              met: worst.noChangeCycleMS < 5))
        }
        if let tenThousand = library.first(where: { $0.jobs == 10_000 }) {
            goals.append(Goal(name: "reconcile: full 10,000-job cycle, library path, against the controller query alone (issue 15)", target: "<= 1.5x",
                              measured: String(format: "%.2fx (median of %d pairs; full cycle %.1f ms, %d moved; the controller query alone %.1f ms; with every job moving %.1f ms)",
                                               tenThousand.fullCycleOverQuery, tenThousand.fullCycles.count, tenThousand.fullCycleMS,
                                               tenThousand.fullCycleTransitions, tenThousand.controllerQueryMS, tenThousand.everyJobMovesMS),
                              met: tenThousand.fullCycleOverQuery <= 1.5))
        }
        let readByTarget = Dictionary(reads.map { ($0.target, $0) }, uniquingKeysWith: { first, _ in first })
        if let job = readByTarget[ReadBenchmark.jobTarget], let rest = readByTarget[ReadBenchmark.slurmrestdTarget] {
            let best = max(rest.requestsPerSecond, readByTarget[ReadBenchmark.slurmrestdTarget + " (unix socket)"]?.requestsPerSecond ?? 0)
            let ratio = job.requestsPerSecond / max(best, 1e-9)
            goals.append(Goal(name: "reads: GET job, hpcbridge vs slurmrestd (its better transport)", target: ">= 5x",
                              measured: String(format: "%.1fx (%.0f vs %.0f req/s)", ratio, job.requestsPerSecond, best), met: ratio >= 5))
        }
        // Issue 15: the same binary's /healthz is the ceiling the reads are held to.
        if let ceiling = readByTarget[ReadBenchmark.ceilingTarget] {
            for (target, share) in [(ReadBenchmark.jobTarget, 0.5), (ReadBenchmark.listTarget, 0.15)] {
                guard let read = readByTarget[target] else { continue }
                let ratio = read.requestsPerSecond / max(ceiling.requestsPerSecond, 1e-9)
                goals.append(Goal(name: "reads: \(target) vs /healthz of the same binary", target: String(format: ">= %.0f %%", share * 100),
                                  measured: String(format: "%.0f %% (%.0f vs %.0f req/s)", ratio * 100, read.requestsPerSecond, ceiling.requestsPerSecond),
                                  met: ratio >= share))
            }
        }
        for target in [ReadBenchmark.jobTarget, ReadBenchmark.listTarget] {
            guard let read = readByTarget[target] else { continue }
            goals.append(Goal(name: "reads: \(target) p99", target: "< 10 ms",
                              measured: String(format: "%.2f ms at %.0f req/s, %d connections", read.latencyP99MS, read.requestsPerSecond, read.connections),
                              met: read.latencyP99MS < 10))
        }
        if let largest = scrape.max(by: { $0.storedJobs < $1.storedJobs }), largest.storedJobs > 0 {
            goals.append(Goal(name: "scrape: /metrics with \(largest.storedJobs) stored jobs", target: "< 20 ms",
                              measured: String(format: "p50 %.2f ms, p99 %.2f ms", largest.scrapeP50MS, largest.scrapeP99MS), met: largest.scrapeP99MS < 20))
            goals.append(Goal(name: "memory: RSS with \(largest.storedJobs) stored jobs", target: "< 200 MB",
                              measured: String(format: "%.1f MB (peak %.1f MB)", largest.rssAfterScrapesMB, largest.peakRSSMB), met: largest.peakRSSMB < 200))
        }
        if let run = runs.first(where: { $0.contender == .run }) {
            let jobs = runs.first { $0.contender == .jobs }
            goals.append(Goal(name: "runs: submissions for one \(run.tasks)-sample run", target: "2 (one array, one dependent job)",
                              measured: String(format: "%.0f submit RPCs, %.0f in all (POST /v1/jobs x %d: %.0f, %.0f)", run.medianSubmitRPCs, run.medianTotalRPCs,
                                               jobs?.tasks ?? 0, jobs?.medianSubmitRPCs ?? 0, jobs?.medianTotalRPCs ?? 0),
                              met: run.medianSubmitRPCs == 2))
        }
        if !arrayReconcile.isEmpty {
            let calls = arrayReconcile.map { "\($0.path): \($0.fullCycleControllerRPCs) / \(String(format: "%.2g", $0.noChangeCycleControllerRPCs))" }
            goals.append(Goal(name: "reconcile, arrays: controller calls per cycle (full / no-change)", target: "1 whatever the task count",
                              measured: calls.joined(separator: ", "),
                              met: arrayReconcile.allSatisfy { $0.fullCycleControllerRPCs <= 1 && $0.noChangeCycleControllerRPCs <= 1.0 }))
        }
        if let empty = scrape.first(where: { $0.storedJobs == 0 }) {
            goals.append(Goal(name: "memory: RSS idle (empty store)", target: "< 50 MB",
                              measured: String(format: "%.1f MB", empty.idleRSSMB), met: empty.idleRSSMB < 50))
        }
    }
}
