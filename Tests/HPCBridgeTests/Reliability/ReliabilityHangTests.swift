import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing
@testable import HPCBridge

/// Issue 15, part 1: the controller and a filesystem that hang instead of failing. A stopped process
/// (SIGSTOP) keeps its listening socket: connections are accepted by the kernel and nothing answers,
/// which is what a slurmctld in a scheduling storm or a slow state save looks like to a client. A FIFO
/// in place of a log file is a read that never returns, as on a hung NFS mount.
@Suite("Reliability: hangs", .enabled(if: LiveCluster.enabled), .serialized)
struct ReliabilityHangTests {
    /// The shipped reconcile interval: "within two intervals" is measured against it.
    static let interval: TimeInterval = 5

    func probeService(_ label: String) throws -> ServeProcess {
        let root = try TestPaths.scratchDirectory(label)
        return try ServeProcess(root: root, graceSeconds: 2, edits: try ProbeSite.install(under: root) + [
            ("reconcile_interval_seconds: 1\n", "reconcile_interval_seconds: \(Int(Self.interval))\n"),
        ])
    }

    /// Latencies of one kind of request, in milliseconds.
    final class Latencies: Sendable {
        private let values = Mutex<[String: [Double]]>([:])
        func add(_ route: String, _ milliseconds: Double) { values.withLock { $0[route, default: []].append(milliseconds) } }
        func percentile(_ route: String, _ p: Double) -> Double {
            let sorted = values.withLock { $0[route] ?? [] }.sorted()
            return sorted.isEmpty ? .infinity : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        func count(_ route: String) -> Int { values.withLock { $0[route]?.count ?? 0 } }
        var routes: [String] { values.withLock { Array($0.keys).sorted() } }
    }

    static func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let value = try await body()
        return (value, (clock.now - start).inSeconds * 1000)
    }

    static func pid(of daemon: String) throws -> pid_t {
        let text = try String(contentsOfFile: DevClusterDaemons.runDirectory + "/\(daemon).pid", encoding: .utf8)
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw DevClusterDaemons.NotDevCluster() }
        return pid
    }

    @Test("slurmctld hung (SIGSTOP): reads, /healthz, /readyz and /metrics stay fast, submissions answer within 3 s, every job in Slurm once within two intervals of its return")
    func controllerHang() async throws {
        try DevClusterDaemons.require()
        let hang = Double(ReliabilityRun.size(fast: 25, full: 60))
        let service = try probeService("hang")
        try await service.start()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let started = Date()
        let first = try await service.request("POST", "/v1/jobs", token: token, body: ProbeSite.request("before-hang", seconds: 1))
        let readID = try #require(first.body?["id"]?.stringValue)
        var expected: Set<String> = [readID]

        let controller = try Self.pid(of: "slurmctld")
        #expect(kill(controller, SIGSTOP) == 0)
        var resumed = false
        defer { if !resumed { kill(controller, SIGCONT) } }
        let hangStart = Date()
        let latencies = Latencies()
        var notReadySeen = false, slowestSubmission = 0.0, submissions = 0
        // Submissions go on beside the reads: each holds a libslurm call for the controller's timeout.
        let submitter = Task { () -> (ids: [String], slowest: Double, statuses: [Int]) in
            var ids: [String] = [], slowest = 0.0, statuses: [Int] = []
            var n = 0
            while Date().timeIntervalSince(hangStart) < hang {
                let (answer, ms) = try await Self.timed { try await service.request("POST", "/v1/jobs", token: token, body: ProbeSite.request("during-hang-\(n)", seconds: 1)) }
                n += 1
                statuses.append(answer.status)
                slowest = max(slowest, ms)
                if let id = answer.body?["id"]?.stringValue { ids.append(id) }
                try await Task.sleep(for: .milliseconds(400))
            }
            return (ids, slowest, statuses)
        }
        while Date().timeIntervalSince(hangStart) < hang {
            let (job, jobMs) = try await Self.timed { try await service.request("GET", "/v1/jobs/\(readID)", token: token) }
            #expect(job.status == 200)
            latencies.add("GET /v1/jobs/{id}", jobMs)
            let (health, healthMs) = try await Self.timed { try await service.request("GET", "/healthz") }
            #expect(health.status == 200)
            latencies.add("GET /healthz", healthMs)
            let (ready, readyMs) = try await Self.timed { try await service.request("GET", "/readyz") }
            if ready.status == 503 { notReadySeen = true }
            latencies.add("GET /readyz", readyMs)
            let (_, metricsMs) = try await Self.timed { try await service.text("/metrics") }
            latencies.add("GET /metrics", metricsMs)
            try await Task.sleep(for: .milliseconds(50))
        }
        let during = try await submitter.value
        slowestSubmission = during.slowest
        submissions = during.ids.count
        expected.formUnion(during.ids)
        #expect(during.statuses.allSatisfy { $0 == 201 }, "every submission during the hang is accepted: \(during.statuses)")
        #expect(slowestSubmission < 3000, "a submission answered after \(Int(slowestSubmission)) ms")
        #expect(notReadySeen, "/readyz never reported the hung controller")

        kill(controller, SIGCONT)
        resumed = true
        let resumedAt = Date()
        // Every accepted job reaches Slurm: the time from the controller's return until the last one did.
        var inSlurmAfter: Double?
        while Date().timeIntervalSince(resumedAt) < 120 {
            var missing = 0
            for id in expected where try await service.request("GET", "/v1/jobs/\(id)", token: token).body?["native_job_id"]?.stringValue == nil { missing += 1 }
            if missing == 0 { inSlurmAfter = Date().timeIntervalSince(resumedAt); break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let allInSlurm = try #require(inSlurmAfter, "jobs accepted during the hang never reached Slurm")
        #expect(allInSlurm <= 2 * Self.interval + 2, "the last job reached Slurm \(allInSlurm) s after the controller returned (interval \(Self.interval) s)")
        // Exactly once: calls left in the controller's backlog during the hang must not have doubled any.
        try await Task.sleep(for: .seconds(2))
        let inSlurm = try SlurmTags.nativeIDs(since: started)
        let notOnce = expected.filter { inSlurm[$0]?.count != 1 }
        #expect(notOnce.isEmpty, "jobs not in Slurm exactly once: \(notOnce.map { "\($0): \(inSlurm[$0] ?? [])" })")
        for route in latencies.routes {
            #expect(latencies.percentile(route, 0.99) < 50, "\(route) p99 \(latencies.percentile(route, 0.99)) ms during the hang")
        }
        var figures: [String: JSONValue] = [
            "hang_seconds": .number(Date().timeIntervalSince(hangStart).rounded() - Date().timeIntervalSince(resumedAt).rounded()),
            "submissions_during_hang": .number(Double(submissions)), "slowest_submission_ms": .number(slowestSubmission.rounded()),
            "all_in_slurm_seconds_after_return": .number((allInSlurm * 10).rounded() / 10), "reconcile_interval_seconds": .number(Self.interval),
            "in_slurm_once": .number(Double(expected.count - notOnce.count)), "jobs": .number(Double(expected.count)),
            "readyz_showed_hang": .bool(notReadySeen),
        ]
        for route in latencies.routes {
            figures["p99_ms " + route] = .number((latencies.percentile(route, 0.99) * 10).rounded() / 10)
            figures["requests " + route] = .number(Double(latencies.count(route)))
        }
        ReliabilityRun.record("controller-hang", figures)
    }

    @Test("a log file that never answers (a FIFO, as a hung mount): its reads answer 503 within the deadline; other jobs' logs, reads and /healthz are not delayed")
    func filesystemHang() async throws {
        try DevClusterDaemons.require()
        let service = try probeService("fs-hang")
        try await service.start()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        var ids: [String] = []
        for label in ["hung-logs", "healthy-logs"] {
            let answer = try await service.request("POST", "/v1/jobs", token: token, body: ProbeSite.request(label, seconds: 1))
            ids.append(try #require(answer.body?["id"]?.stringValue))
        }
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            let states = try await ids.asyncMap { try await service.request("GET", "/v1/jobs/\($0)", token: token).body?["state"]?.stringValue }
            if states.allSatisfy({ $0 == "completed" }) { break }
            try await Task.sleep(for: .seconds(1))
        }
        // The hung job's stdout.log becomes a FIFO nobody writes: opening it blocks, as a read on a hung mount does.
        let logs = FileManager.default.enumerator(atPath: service.root + "/runs")?.compactMap { $0 as? String } ?? []
        let relative = try #require(logs.first { $0.contains(ids[0]) && $0.hasSuffix("stdout.log") }, "no stdout.log for \(ids[0]) under \(service.root)/runs")
        let fifo = service.root + "/runs/" + relative
        try FileManager.default.removeItem(atPath: fifo)
        #expect(mkfifo(fifo, 0o644) == 0)
        defer {
            // Let the blocked readers go: a writer opens and closes the FIFO, and every reader gets end of file.
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
        }

        let hungID = ids[0]
        // Other clients: the test's own requests must not wait for a connection behind theirs.
        let others = URLSession(configuration: .ephemeral)
        let hungReads = Task { () -> [(status: Int, ms: Double)] in
            try await withThrowingTaskGroup(of: (Int, Double).self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let (answer, ms) = try await Self.timed { try await service.request("GET", "/v1/jobs/\(hungID)/logs", token: token, session: others) }
                        return (answer.status, ms)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let latencies = Latencies()
        let clock = ContinuousClock(), until = clock.now + .seconds(7)
        while clock.now < until {
            let (healthy, healthyMs) = try await Self.timed { try await service.request("GET", "/v1/jobs/\(ids[1])/logs", token: token) }
            #expect(healthy.status == 200)
            latencies.add("GET another job's logs", healthyMs)
            let (job, jobMs) = try await Self.timed { try await service.request("GET", "/v1/jobs/\(ids[0])", token: token) }
            #expect(job.status == 200)
            latencies.add("GET /v1/jobs/{id}", jobMs)
            let (_, healthMs) = try await Self.timed { try await service.request("GET", "/healthz") }
            latencies.add("GET /healthz", healthMs)
            try await Task.sleep(for: .milliseconds(50))
        }
        let hung = try await hungReads.value
        #expect(hung.allSatisfy { $0.status == 503 }, "reads of the hung file: \(hung)")
        #expect(hung.allSatisfy { $0.ms < 6000 }, "reads of the hung file answered within the 5 s deadline: \(hung.map { Int($0.ms) })")
        for route in latencies.routes {
            #expect(latencies.percentile(route, 0.99) < 50, "\(route) p99 \(latencies.percentile(route, 0.99)) ms while a log file hangs")
        }
        var figures: [String: JSONValue] = [
            "hung_reads": .number(Double(hung.count)), "hung_reads_503": .number(Double(hung.filter { $0.status == 503 }.count)),
            "slowest_hung_read_ms": .number(hung.map(\.ms).max()?.rounded() ?? 0),
        ]
        for route in latencies.routes { figures["p99_ms " + route] = .number((latencies.percentile(route, 0.99) * 10).rounded() / 10) }
        ReliabilityRun.record("filesystem-hang", figures)
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
