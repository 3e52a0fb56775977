import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import HPCBridge

/// Issue 7, part 7: 64 clients at once, for five minutes (30 s in the fast subset), mixing submissions,
/// reads, listings, cancels and event streams of two research groups against the live cluster. No
/// request may fail, the service's memory must stay flat, and the reconciler must keep up.
///
/// The partition never runs the jobs, so without a limit the queue would grow for the whole run and the
/// service's memory with it (each reconcile cycle holds the controller's answer for every job: about
/// 7 KB per open job, RELIABILITY.md). Each group has a quota of `openJobQuota` unfinished jobs, as a
/// site would set one: the queue fills in the first third of the run (checked) and then stays full, submissions over it
/// answer 429 (a correct answer here) and cancels make room. A steady workload, so flat memory means
/// that nothing accumulates; and the quota must hold exactly under 16 concurrent submitters.
@Suite("Reliability: sustained mixed load", .enabled(if: LiveCluster.enabled), .serialized)
struct ReliabilityLoadTests {
    enum Role: String, CaseIterable { case submit, read, list, cancel, events }

    /// 64 clients: 16 submit, 24 read jobs, 8 list, 8 cancel, 8 follow the event stream.
    static let roles: [Role] = Array(repeating: .submit, count: 16) + Array(repeating: .read, count: 24) + Array(repeating: .list, count: 8)
        + Array(repeating: .cancel, count: 8) + Array(repeating: .events, count: 8)

    /// Unfinished jobs each group may have (`max_active_jobs`) during the run. Smaller in the fast subset,
    /// so that its queue is full within the first third as well: once submissions took less CPU (session
    /// 14), 2 x 1,000 jobs filled only in the last seconds of the 30, and the memory check measured the
    /// queue filling instead of a steady workload.
    static let openJobQuota = ReliabilityRun.size(fast: 300, full: 1_000)

    @Test("64 clients mixing submits, reads, cancels and event streams: no errors, memory flat, reconcile lag bounded")
    func mixedLoad() async throws {
        try ReliabilityRun.makeQueueOnlyPartition()
        let seconds = Double(ReliabilityRun.size(fast: 30, full: 300))
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("load"),
                                       edits: ReliabilityRun.queueOnlyEdits + [("max_active_jobs: 100000", "max_active_jobs: \(Self.openJobQuota)")])
        try await service.start()
        defer { service.stop() }
        let tokens = ["cancer_genomics_lab": try service.token(group: "cancer_genomics_lab"), "systems_biology_lab": try service.token(group: "systems_biology_lab")]
        let tally = LoadTally()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
        let base = "http://127.0.0.1:\(service.port)"
        let end = Date().addingTimeInterval(seconds)

        @Sendable func send(_ role: Role, _ method: HTTPMethod, _ path: String, token: String, body: JSONValue? = nil, allowed: Set<Int>) async -> JSONValue? {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body.jsonText))
            }
            let start = ContinuousClock.now
            do {
                let response = try await client.execute(request, timeout: .seconds(30))
                let data = try await response.body.collect(upTo: 8 << 20)
                let status = Int(response.status.code)
                await tally.record(role, status: status, ok: allowed.contains(status), duration: ContinuousClock.now - start, detail: String(buffer: data).prefix(200))
                return try? JSONValue.parse(Data(buffer: data))
            } catch {
                await tally.record(role, status: 0, ok: false, duration: ContinuousClock.now - start, detail: "\(error)".prefix(200))
                return nil
            }
        }

        // Memory, reconcile lag and unfinished jobs, sampled every 2 s while the load runs.
        let sampler = Task { () -> [(rssMB: Double, lag: Double, open: Double)] in
            var samples: [(Double, Double, Double)] = []
            while Date() < end {
                let rss = service.pid.flatMap(Self.residentMegabytes) ?? 0
                let metrics = (try? await service.text("/metrics")) ?? ""
                let lines = metrics.split(separator: "\n")
                func value(_ line: Substring) -> Double { Double(line.split(separator: " ").last ?? "") ?? 0 }
                let lag = lines.first { $0.hasPrefix("hpcbridge_reconcile_seconds_since_success") }.map(value) ?? -1
                let open = lines.filter { line in
                    line.hasPrefix("hpcbridge_jobs{") && JobStore.openStates.contains { line.contains("state=\"\($0)\"") }
                }.map(value).reduce(0, +)
                samples.append((rss, lag, open))
                try? await Task.sleep(for: .seconds(2))
            }
            return samples
        }

        await withTaskGroup(of: Void.self) { group in
            for (index, role) in Self.roles.enumerated() {
                let groupName = index % 2 == 0 ? "cancer_genomics_lab" : "systems_biology_lab"
                let token = tokens[groupName]!
                group.addTask {
                    var number = 0
                    while Date() < end {
                        number += 1
                        switch role {
                        case .submit:
                            let body = groupName == "cancer_genomics_lab" ? ReliabilityCrashTests.request(number, run: "load")
                                : ReliabilityCrashTests.request(number, run: "load").replacing(at: ["pipeline_name"], with: "rnaseq_deseq2")
                                    .replacing(at: ["research_group"], with: .string(groupName))
                                    .replacing(at: ["parameters"], with: ["sample_id": .string("L\(number)"), "reference": "gencode_v38",
                                                                          "fastq_files": ["/data/systems_biology_lab/missing/L_R1.fastq.gz", "/data/systems_biology_lab/missing/L_R2.fastq.gz"]])
                                    .replacing(at: ["resources", "memory"], with: "2G")
                            if let id = await send(role, .POST, "/v1/jobs", token: token, body: body, allowed: [201, 429])?["id"]?.stringValue {
                                await tally.created(id, group: groupName)
                            }
                        case .read:
                            if let id = await tally.randomJob(group: groupName) {
                                _ = await send(role, .GET, "/v1/jobs/\(id)", token: token, allowed: [200])
                            } else {
                                try? await Task.sleep(for: .milliseconds(100))
                            }
                        case .list:
                            _ = await send(role, .GET, "/v1/jobs?limit=50&state=queued&state=accepted", token: token, allowed: [200])
                        case .cancel:
                            if let id = await tally.randomJob(group: groupName) {
                                // Cancelling a job that already ended is a 409, which is a correct answer here.
                                _ = await send(role, .POST, "/v1/jobs/\(id)/cancel", token: token, allowed: [202, 409])
                            }
                            try? await Task.sleep(for: .milliseconds(200))
                        case .events:
                            await Self.follow(base + "/v1/events", token: token, for: min(10, max(1, end.timeIntervalSinceNow)), client: client, tally: tally)
                        }
                    }
                }
            }
        }
        let samples = await sampler.value
        try await client.shutdown()

        let summary = await tally.summary
        let failures = await tally.failures
        #expect(failures.isEmpty, "\(failures.count) failed requests, e.g. \(failures.prefix(5))")
        #expect(summary.created > 0 && summary.eventFrames > 0, "\(summary)")
        // Memory flat: the last third of the run holds no more than the first third plus a margin for
        // SQLite's page cache and NIO's buffers. The first third ends after the queue has filled.
        let rss = samples.map(\.rssMB).filter { $0 > 0 }
        let third = max(1, rss.count / 3)
        // The premise of that comparison: the queue is full (both quotas, within a few jobs of cancels
        // making room) before the first third ends.
        let fullAt = samples.firstIndex { $0.open >= Double(2 * Self.openJobQuota) * 0.9 }
        #expect(fullAt.map { $0 < samples.count / 3 } == true,
                "the queue was not full within the first third (sample \(fullAt.map(String.init) ?? "never") of \(samples.count)); memory would measure it filling")
        let early = rss.prefix(third).max() ?? 0, late = rss.suffix(third).max() ?? 0
        let middle = rss.dropFirst(third).dropLast(third).max() ?? 0
        #expect(late <= early * 1.25 + 16, "RSS grew from \(early) MB to \(late) MB")
        let maxLag = samples.map(\.lag).max() ?? -1
        #expect(maxLag >= 0 && maxLag < 15, "reconcile lag reached \(maxLag) s")
        let maxOpen = samples.map(\.open).max() ?? 0
        #expect(maxOpen <= Double(2 * Self.openJobQuota), "\(maxOpen) unfinished jobs, over the two groups' quotas")
        let refusedOverQuota = await tally.count(of: 429)
        _ = try await run("/usr/bin/env", ["scancel", "-p", ReliabilityRun.queueOnlyPartition])
        ReliabilityRun.record("mixed-load", [
            "clients": .number(Double(Self.roles.count)), "seconds": .number(seconds), "requests": .number(Double(summary.requests)),
            "requests_per_second": .number((Double(summary.requests) / seconds).rounded()), "failed": .number(Double(failures.count)),
            "jobs_created": .number(Double(summary.created)), "event_frames": .number(Double(summary.eventFrames)),
            "open_job_quota_per_group": .number(Double(Self.openJobQuota)), "max_open_jobs": .number(maxOpen),
            "submissions_refused_429": .number(Double(refusedOverQuota)),
            "p99_ms_by_role": .object(summary.p99.mapValues { .number(($0 * 10).rounded() / 10) }),
            "rss_mb_first_third_max": .number(early), "rss_mb_middle_third_max": .number(middle), "rss_mb_last_third_max": .number(late), "max_reconcile_lag_s": .number(maxLag),
        ])
    }

    /// Reads the event stream for a while, counting frames, then hangs up.
    static func follow(_ url: String, token: String, for seconds: Double, client: HTTPClient, tally: LoadTally) async {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            guard response.status == .ok else {
                await tally.record(.events, status: Int(response.status.code), ok: false, duration: .zero, detail: "event stream refused")
                return
            }
            await tally.record(.events, status: 200, ok: true, duration: .zero, detail: "")
            let stop = Date().addingTimeInterval(seconds)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await chunk in response.body {
                        let frames = String(buffer: chunk).components(separatedBy: "event: transition").count - 1
                        if frames > 0 { await tally.frames(frames) }
                    }
                }
                group.addTask { try await Task.sleep(for: .seconds(max(0.1, stop.timeIntervalSinceNow))) }
                _ = try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {
        } catch {
            await tally.record(.events, status: 0, ok: false, duration: .zero, detail: "\(error)".prefix(200))
        }
    }

    /// VmRSS of a process in MB.
    static func residentMegabytes(_ pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kilobytes / 1024
    }
}

/// What the load clients did.
actor LoadTally {
    private var jobs: [String: [String]] = [:]
    private var durations: [ReliabilityLoadTests.Role: [Double]] = [:]
    private(set) var failures: [String] = []
    private var requests = 0
    private var eventFrames = 0
    private var statuses: [Int: Int] = [:]

    func record(_ role: ReliabilityLoadTests.Role, status: Int, ok: Bool, duration: Duration, detail: Substring) {
        requests += 1
        statuses[status, default: 0] += 1
        durations[role, default: []].append(Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
        if !ok { failures.append("\(role.rawValue) \(status): \(detail)") }
    }

    func created(_ id: String, group: String) { jobs[group, default: []].append(id) }
    func randomJob(group: String) -> String? { jobs[group]?.randomElement() }
    func frames(_ count: Int) { eventFrames += count }
    func count(of status: Int) -> Int { statuses[status] ?? 0 }

    var summary: (requests: Int, created: Int, eventFrames: Int, p99: [String: Double]) {
        let p99 = Dictionary(uniqueKeysWithValues: durations.map { role, values -> (String, Double) in
            let sorted = values.sorted()
            return (role.rawValue, sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))])
        })
        return (requests, jobs.values.map(\.count).reduce(0, +), eventFrames, p99)
    }
}
