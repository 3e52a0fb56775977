/// How much each benchmark does; `--smoke` shrinks everything so CI proves the harness still runs.
struct BenchSettings: Codable, Sendable {
    var repository: String
    var hpcbridgeBinary: String
    var account: String
    var smoke: Bool
    var trials = 3
    var submissionJobs = 2_000
    /// The submission benchmark's contenders (all by default; fewer make an A/B run of two builds cheaper).
    var submissionContenders = SubmissionBenchmark.Contender.allCases
    /// Concurrent HTTP clients for the two HTTP submitters, and for submitting the jobs to read.
    var httpClients = 8
    var reconcileSizes = [1_000, 10_000, 50_000]
    var noChangeRepetitions = 20
    var readJobs = 1_000
    var readConnections = 64
    var readSeconds = 30
    var wrkThreads = 2
    var storeSizes = [0, 10_000, 100_000]
    var scrapes = 200
    /// Rows of the cohort run, and jobs per contender it is compared with (one job per row).
    var runSamples = 1_000
    /// The arrays case of the reconcile benchmark: runs in the store, each with a scatter step held in
    /// the controller as one array of `arrayTasks` tasks.
    var arrayRuns = 10
    var arrayTasks = 1_000

    init(repository: String, hpcbridgeBinary: String, account: String, smoke: Bool) {
        self.repository = repository
        self.hpcbridgeBinary = hpcbridgeBinary
        self.account = account
        self.smoke = smoke
        if smoke {
            trials = 1
            submissionJobs = 5
            httpClients = 2
            reconcileSizes = [50]
            noChangeRepetitions = 3
            readJobs = 10
            readConnections = 8
            readSeconds = 2
            storeSizes = [0, 200]
            scrapes = 10
            runSamples = 5
            arrayRuns = 2
            arrayTasks = 5
        }
    }
}
