import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
@testable import HPCBridge

/// Issue 7, part 1: the service is SIGKILLed again and again while 8 clients submit, and restarted at once.
/// Clients do what a careful script does: retry with the same Idempotency-Key until they get an answer.
/// Afterwards every acknowledged job must exist exactly once in Slurm (counted by its UUID in the job
/// comment, in the controller and in accounting), every stored job must be one of them, and all must end.
@Suite("Reliability: crash during load", .enabled(if: LiveCluster.enabled), .serialized)
struct ReliabilityCrashTests {
    static let clients = 8

    static func request(_ number: Int, run: String) -> JSONValue {
        ["pipeline_name": "gatk_variant_calling", "research_group": "cancer_genomics_lab", "description": .string("crash run \(run) job \(number)"),
         "parameters": ["sample_id": .string("C\(number)"), "reference_genome": "hg38", "fastq_r1": "/data/cancer_genomics_lab/missing/C_R1.fastq.gz",
                        "fastq_r2": "/data/cancer_genomics_lab/missing/C_R2.fastq.gz", "caller": "bcftools", "quality_threshold": 20, "depth_threshold": 5],
         "resources": ["cpus": 1, "memory": "1G", "time_limit": "00:10:00"]]
    }

    @Test("SIGKILL at random points while 8 clients submit: every acknowledged job exists once in Slurm, none lost or doubled")
    func killedDuringLoad() async throws {
        try ReliabilityRun.makeQueueOnlyPartition()
        let total = ReliabilityRun.size(fast: 300, full: 1_000)
        let kills = ReliabilityRun.size(fast: 5, full: 8)
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("crash"), graceSeconds: 2, edits: ReliabilityRun.queueOnlyEdits)
        let started = Date()
        // Jobs other suites left in the partition's recent accounting are not this run's.
        let earlier = Set(try SlurmTags.nativeIDs(since: started, partition: ReliabilityRun.queueOnlyPartition).keys)
        try await service.start()
        let token = try service.token(group: "cancer_genomics_lab")
        let admin = try service.token(group: nil)
        let runID = String(UUID().uuidString.prefix(8).lowercased())
        let ledger = CrashLedger()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)

        // Kill points: after a random number of acknowledgements, spread over the run.
        let killPoints = (1...kills).map { $0 * total / (kills + 1) + Int.random(in: -total / (4 * (kills + 1))...total / (4 * (kills + 1))) }
        let killer = Task {
            var done = 0
            for point in killPoints {
                while await ledger.acknowledgedCount < point { try await Task.sleep(for: .milliseconds(5)) }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...40)))
                let status = service.stop(signal: SIGKILL)
                await ledger.killed(exitStatus: status)
                done += 1
                try await service.start()
            }
            return done
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<Self.clients {
                group.addTask {
                    for number in stride(from: worker, to: total, by: Self.clients) {
                        try await Self.submitUntilAnswered(number, run: runID, client: client, service: service, token: token, ledger: ledger)
                    }
                }
            }
            try await group.waitForAll()
        }
        let killed = try await killer.value
        #expect(killed == kills)

        // Jobs accepted but not yet submitted when a kill came are recovered by the restarted service.
        let waiting = try await Self.jobsLeft(service, "state=accepted", token: admin, timeout: 120)
        #expect(waiting == 0, "jobs still accepted two minutes after the load: \(waiting)\n\(service.log.suffix(3000))")

        let acknowledged = await ledger.acknowledged
        let inSlurm = try SlurmTags.nativeIDs(since: started, partition: ReliabilityRun.queueOnlyPartition)
        let foundOnce = acknowledged.values.filter { inSlurm[$0]?.count == 1 }.count
        let lost = acknowledged.values.filter { (inSlurm[$0]?.count ?? 0) == 0 }
        let duplicated = acknowledged.values.filter { (inSlurm[$0]?.count ?? 0) > 1 }
        #expect(acknowledged.count == total, "every request is answered in the end")
        #expect(Set(acknowledged.values).count == total, "each Idempotency-Key has its own job")
        #expect(lost.isEmpty, "acknowledged but not in Slurm: \(lost.prefix(5))")
        #expect(duplicated.isEmpty, "in Slurm more than once: \(duplicated.prefix(5).map { "\($0): \(inSlurm[$0]!.sorted())" })")

        // End every job: half cancelled through the API, half by an admin's scancel behind the service's back.
        let ids = acknowledged.values.sorted()
        for id in ids.prefix(ids.count / 2) {
            let answer = try await service.request("POST", "/v1/jobs/\(id)/cancel", token: token)
            #expect(answer.status == 202, "cancel \(id): \(answer.status)")
        }
        let behindBack = ids.dropFirst(ids.count / 2).compactMap { inSlurm[$0]?.first }
        for chunk in stride(from: 0, to: behindBack.count, by: 200).map({ Array(behindBack[$0..<min($0 + 200, behindBack.count)]) }) {
            #expect(try await run("/usr/bin/env", ["scancel"] + chunk).status == 0)
        }
        let open = try await Self.jobsLeft(service, "state=accepted&state=queued&state=held&state=running", token: admin, timeout: 180)
        #expect(open == 0, "jobs not ended three minutes after cancelling: \(open)")
        #expect(service.stop() == 0)

        // The store, read directly: exactly the acknowledged jobs, all cancelled, each with one Slurm id.
        let store = try JobStore(path: service.root + "/store.sqlite")
        let stored = try store.jobs(JobStore.Filter(), limit: 1_000_000).jobs
        let storedIDs = Set(stored.map { $0.id.uuidString.lowercased() })
        #expect(storedIDs == Set(acknowledged.values), "stored but never acknowledged: \(storedIDs.subtracting(acknowledged.values).prefix(5))")
        let states = Dictionary(grouping: stored, by: \.state).mapValues(\.count)
        #expect(states == [.cancelled: total], "\(states)")
        #expect(stored.allSatisfy { $0.nativeJobID != nil && inSlurm[$0.id.uuidString.lowercased()] == [$0.nativeJobID!] })
        let unknownTags = Set(inSlurm.keys).subtracting(storedIDs).subtracting(earlier)
        #expect(unknownTags.isEmpty, "Slurm jobs tagged with ids the store does not have: \(unknownTags.prefix(5))")

        var figures = await ledger.figures
        let counts: [(String, Int)] = [
            ("jobs_requested", total), ("jobs_acknowledged", acknowledged.count), ("found_once_in_slurm", foundOnce), ("lost", lost.count),
            ("duplicated", duplicated.count), ("stored", stored.count), ("untracked_slurm_jobs", unknownTags.count),
            ("seconds", Int(Date().timeIntervalSince(started).rounded())),
        ]
        for (name, value) in counts { figures[name] = .number(Double(value)) }
        ReliabilityRun.record("crash-during-load", figures)
        try await client.shutdown()
    }

    /// Polls a job listing (`filter`, a query string) until it is empty or `timeout` passes; how many
    /// jobs it held at the last look (-1 when the listing could not be read).
    static func jobsLeft(_ service: ServeProcess, _ filter: String, token: String, timeout: TimeInterval) async throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var left = -1
        while Date() < deadline {
            left = try await service.request("GET", "/v1/jobs?\(filter)&limit=500", token: token).body?["jobs"]?.arrayValue?.count ?? -1
            if left == 0 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        return left
    }

    /// One job request, retried with its Idempotency-Key until the service answers it (201, or 200 for a
    /// retry of a request it had already accepted). Connection failures and 503 are retried; anything else fails.
    static func submitUntilAnswered(_ number: Int, run: String, client: HTTPClient, service: ServeProcess, token: String, ledger: CrashLedger) async throws {
        let key = "crash-\(run)-\(number)"
        let body = Self.request(number, run: run).jsonText
        for attempt in 1...600 {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(service.port)/v1/jobs")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Idempotency-Key", value: key)
            request.body = .bytes(ByteBuffer(string: body))
            do {
                let response = try await client.execute(request, timeout: .seconds(30))
                let data = try await response.body.collect(upTo: 1 << 20)
                switch response.status.code {
                case 200, 201:
                    let id = try #require(try JSONValue.parse(Data(buffer: data))["id"]?.stringValue)
                    try await ledger.acknowledge(key: key, id: id, status: Int(response.status.code), attempts: attempt)
                    return
                case 503:
                    await ledger.retried(unavailable: true)
                default:
                    Issue.record("job \(number): unexpected \(response.status.code): \(String(buffer: data))")
                    return
                }
            } catch {
                await ledger.retried(unavailable: false)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("job \(number) was never answered")
    }
}

/// What the clients saw: acknowledgements by Idempotency-Key, retries, kills.
actor CrashLedger {
    private(set) var acknowledged: [String: String] = [:]
    private var answeredAsRetry = 0
    private var connectionFailures = 0
    private var unavailableAnswers = 0
    private var maxAttempts = 0
    private var killStatuses: [Int32] = []

    var acknowledgedCount: Int { acknowledged.count }

    func acknowledge(key: String, id: String, status: Int, attempts: Int) throws {
        if let earlier = acknowledged[key], earlier != id {
            Issue.record("Idempotency-Key \(key) answered with two jobs: \(earlier) and \(id)")
        }
        acknowledged[key] = id
        if status == 200 { answeredAsRetry += 1 }
        maxAttempts = max(maxAttempts, attempts)
    }

    func retried(unavailable: Bool) {
        if unavailable { unavailableAnswers += 1 } else { connectionFailures += 1 }
    }

    func killed(exitStatus: Int32) { killStatuses.append(exitStatus) }

    var figures: [String: JSONValue] {
        ["sigkills": .number(Double(killStatuses.count)), "retries_after_connection_failure": .number(Double(connectionFailures)),
         "retries_after_503": .number(Double(unavailableAnswers)), "answered_200_as_retry_of_accepted_job": .number(Double(answeredAsRetry)),
         "most_attempts_for_one_job": .number(Double(maxAttempts))]
    }
}
