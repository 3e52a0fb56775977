import ArgumentParser
import AsyncHTTPClient
import Foundation

/// `hpcbridge-bench`: measures hpcbridge against raw libslurm, an sbatch loop and slurmrestd on the dev
/// cluster, and a run's one array against the single jobs it stands for, prints one Markdown table per
/// benchmark and writes the whole run as JSON. Numbers only:
/// nothing here fails because the machine is slow; it fails when a contender does not work.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hpcbridge-bench",
        abstract: "Benchmarks hpcbridge against libslurm, sbatch and slurmrestd on the dev cluster (see BENCHMARKS.md).")

    enum Part: String, CaseIterable, ExpressibleByArgument {
        case submission, reconcile, reads, scrape, runs
    }

    @Option(help: "The hpcbridge binary to benchmark (build it with -c release for numbers that mean something).")
    var hpcbridge = ".build/release/hpcbridge"

    @Option(help: "The Slurm account benchmark jobs are charged to (needs an association for this user).")
    var account = "cancer_genomics_lab"

    @Option(help: "Where results (JSON, Markdown) and scratch files go.")
    var output = "var/bench"

    @Option(parsing: .upToNextOption, help: "Which benchmarks to run (default: all).")
    var only: [Part] = Part.allCases

    @Option(help: "Trials per submission contender (default 3).")
    var trials: Int?

    @Option(help: "Jobs per submission trial (default 2000).")
    var jobs: Int?

    @Option(parsing: .upToNextOption, help: "Submission contenders to run (default: all).")
    var contenders: [SubmissionBenchmark.Contender] = []

    @Option(help: "Seconds per wrk run (default 30).")
    var readSeconds: Int?

    @Option(parsing: .upToNextOption, help: "Jobs held in the controller for the reconcile benchmark (default 1000 10000 50000).")
    var reconcileSizes: [Int] = []

    @Option(parsing: .upToNextOption, help: "Finished jobs in the store for the scrape benchmark (default 0 10000 100000).")
    var storeSizes: [Int] = []

    @Option(help: "Samples of the cohort run, and jobs per contender it is compared with (default 1000, at most 1000).")
    var runSamples: Int?

    @Option(help: "Runs (one held array each) in the store for the arrays reconcile case (default 10).")
    var arrayRuns: Int?

    @Option(help: "Tasks per array for the arrays reconcile case (default 1000; the dev cluster's MaxArraySize is 1001).")
    var arrayTasks: Int?

    @Option(help: .hidden)
    var rawSubmitWorker: Int?

    @Flag(help: "A few jobs per contender and tiny sizes: proves the harness works (CI), measures nothing.")
    var smoke = false

    func run() async throws {
        if let rawSubmitWorker {
            // One process of the "4 raw libslurm processes" contender (started by the submission benchmark).
            let report = try RawLibslurm.runWorker(jobs: rawSubmitWorker, account: account, partition: BenchCluster.partition)
            print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
            return
        }
        let repository = FileManager.default.currentDirectoryPath
        let binary = hpcbridge.hasPrefix("/") ? hpcbridge : repository + "/" + hpcbridge
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("no hpcbridge binary at \(binary); build it first (`swift build -c release`, or use `make bench`)")
        }
        var settings = BenchSettings(repository: repository, hpcbridgeBinary: binary, account: account, smoke: smoke)
        if let trials { settings.trials = trials }
        if let jobs { settings.submissionJobs = jobs }
        if !contenders.isEmpty { settings.submissionContenders = contenders }
        if let readSeconds { settings.readSeconds = readSeconds }
        if !reconcileSizes.isEmpty { settings.reconcileSizes = reconcileSizes }
        if !storeSizes.isEmpty { settings.storeSizes = storeSizes }
        if let runSamples { settings.runSamples = runSamples }
        if let arrayRuns { settings.arrayRuns = arrayRuns }
        if let arrayTasks { settings.arrayTasks = arrayTasks }

        let stamp = Self.stamp.string(from: Date())
        let outputDirectory = output.hasPrefix("/") ? output : repository + "/" + output
        let workDirectory = outputDirectory + "/work-\(stamp)"
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)

        let cluster = BenchCluster(account: account)
        try await cluster.prepare()
        var report = BenchReport(startedAt: Date(), command: CommandLine.arguments.joined(separator: " "),
                                 machine: await BenchReport.machine(repository: repository, binary: binary), settings: settings)
        let client = HTTPLoad.client(connections: max(settings.httpClients, settings.readConnections))
        do {
            if only.contains(.submission) {
                print("1. submission throughput")
                report.submission = try await SubmissionBenchmark(settings: settings, cluster: cluster, workDirectory: workDirectory, client: client).run()
            }
            if only.contains(.reconcile) {
                print("2. reconcile cost")
                report.reconcile = try await ReconcileBenchmark(settings: settings, cluster: cluster, workDirectory: workDirectory).run()
            }
            if only.contains(.reads) {
                print("3. API reads")
                report.reads = try await ReadBenchmark(settings: settings, cluster: cluster, workDirectory: workDirectory, client: client).run()
            }
            if only.contains(.scrape) {
                print("4. /metrics scrape and memory")
                report.scrape = try await ScrapeBenchmark(settings: settings, cluster: cluster, workDirectory: workDirectory, client: client).run()
            }
            if only.contains(.runs) {
                print("5. runs: a \(settings.runSamples)-sample cohort against \(settings.runSamples) jobs")
                report.runs = try await RunBenchmark(settings: settings, cluster: cluster, workDirectory: workDirectory, client: client).run()
                print("5b. reconcile cost, \(settings.arrayRuns) arrays of \(settings.arrayTasks) tasks")
                report.arrayReconcile = try await ReconcileBenchmark(settings: settings, cluster: cluster, workDirectory: workDirectory).runArrays()
            }
        } catch {
            try? await client.shutdown()
            try? await cluster.clear()
            throw error
        }
        try await client.shutdown()
        report.finishedAt = Date()
        report.judgeGoals()

        let markdown = ReportTable.render(report)
        print("\n" + markdown)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let json = try encoder.encode(report)
        let base = outputDirectory + "/bench-\(stamp)\(smoke ? "-smoke" : "")"
        try json.write(to: URL(fileURLWithPath: base + ".json"))
        try markdown.write(toFile: base + ".md", atomically: true, encoding: .utf8)
        print("written: \(base).json and \(base).md")
        try? FileManager.default.removeItem(atPath: workDirectory)
    }

    static let stamp: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter
    }()
}

extension SubmissionBenchmark.Contender: ExpressibleByArgument {
    init?(argument: String) {
        guard let contender = Self.allCases.first(where: { $0.argument == argument }) else { return nil }
        self = contender
    }

    static var allValueStrings: [String] { allCases.map(\.argument) }
}
