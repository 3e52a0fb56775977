import Foundation
import Testing
@testable import HPCBridge

/// Issue 7, parts 2 and 3: the controller stops while jobs run and requests arrive; the service is down
/// while its jobs finish and leave the controller, with accounting, without it, and with nothing left.
@Suite("Reliability: outages", .enabled(if: LiveCluster.enabled), .serialized)
struct ReliabilityOutageTests {
    func probeService(_ label: String, extraEdits: [(String, String)] = []) throws -> ServeProcess {
        let root = try TestPaths.scratchDirectory(label)
        return try ServeProcess(root: root, graceSeconds: 2, edits: try ProbeSite.install(under: root) + extraEdits)
    }

    func waitForStates(_ service: ServeProcess, _ ids: [String], token: String, timeout: TimeInterval, until done: (String) -> Bool) async throws -> [String: JSONValue] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: JSONValue] = [:]
        while Date() < deadline {
            for id in ids { last[id] = try await service.request("GET", "/v1/jobs/\(id)", token: token).body }
            if ids.allSatisfy({ done(last[$0]?["state"]?.stringValue ?? "") }) { return last }
            try await Task.sleep(for: .seconds(1))
        }
        return last
    }

    static let terminal: Set<String> = ["completed", "failed", "cancelled", "lost"]

    @Test("slurmctld stopped while jobs run and requests arrive: 201 accepted throughout, nothing failed by the outage, all submitted once and reconciled after")
    func controllerOutage() async throws {
        try DevClusterDaemons.require()
        let outage = Double(ReliabilityRun.size(fast: 20, full: 60))
        let service = try probeService("outage")
        try await service.start()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let started = Date()

        // Two jobs that run across the outage: one ends well, one exits 3.
        var expected: [String: (state: String, exit: Int)] = [:]
        for (label, code) in [("across-ok", 0), ("across-3", 3)] {
            let answer = try await service.request("POST", "/v1/jobs", token: token, body: ProbeSite.request(label, seconds: Int(outage) + 10, exitCode: code))
            #expect(answer.status == 201)
            expected[try #require(answer.body?["id"]?.stringValue)] = (code == 0 ? "completed" : "failed", code)
        }
        let running = try await waitForStates(service, Array(expected.keys), token: token, timeout: 60) { $0 == "running" }
        #expect(running.values.allSatisfy { $0["state"] == "running" }, "\(running)")

        try await DevClusterDaemons.stop("slurmctld")
        let outageStart = Date()
        var acceptedDuringOutage = 0, notReadySeen = false, errorsInMetrics = false, failedDuringOutage = 0
        while Date().timeIntervalSince(outageStart) < outage {
            let answer = try await service.request("POST", "/v1/jobs", token: token, body: ProbeSite.request("during-\(acceptedDuringOutage)", seconds: 1))
            #expect(answer.status == 201, "the API keeps accepting during the outage: \(answer.status) \(answer.body?.jsonText ?? "")")
            if answer.status == 201, let id = answer.body?["id"]?.stringValue {
                #expect(answer.body?["state"] == "accepted")
                expected[id] = ("completed", 0)
                acceptedDuringOutage += 1
            }
            let ready = try await service.request("GET", "/readyz")
            if ready.status == 503, ready.body?["checks"]?["cluster:dev"]?["ok"] == false { notReadySeen = true }
            let metrics = try await service.text("/metrics")
            errorsInMetrics = errorsInMetrics || metrics.split(separator: "\n").contains { $0.hasPrefix("hpcbridge_reconcile_failures_total") && !$0.hasSuffix(" 0") }
            let failed = try await service.request("GET", "/v1/jobs?state=failed&state=lost", token: token)
            failedDuringOutage = max(failedDuringOutage, failed.body?["jobs"]?.arrayValue?.count ?? 0)
            try await Task.sleep(for: .seconds(1))
        }
        let outageSeconds = Date().timeIntervalSince(outageStart)
        try DevClusterDaemons.startMissing()
        #expect(notReadySeen, "/readyz never reported the controller down")
        #expect(errorsInMetrics, "hpcbridge_reconcile_failures_total never rose")
        #expect(failedDuringOutage == 0, "jobs were marked failed or lost during the outage")

        let ended = try await waitForStates(service, Array(expected.keys), token: token, timeout: 240) { Self.terminal.contains($0) }
        for (id, want) in expected {
            let job = ended[id]
            #expect(job?["state"]?.stringValue == want.state, "\(id): \(job?.jsonText ?? "nothing")")
            if want.state == "failed" { #expect(job?["exit_code"] == .number(Double(want.exit))) }
        }
        let inSlurm = try SlurmTags.nativeIDs(since: started)
        let once = expected.keys.filter { inSlurm[$0]?.count == 1 }.count
        #expect(once == expected.count, "jobs not in Slurm exactly once: \(expected.keys.filter { inSlurm[$0]?.count != 1 }.map { "\($0): \(inSlurm[$0] ?? [])" })")
        #expect(try await service.request("GET", "/readyz").status == 200)
        ReliabilityRun.record("controller-outage", [
            "outage_seconds": .number(outageSeconds.rounded()), "jobs_running_across": 2, "accepted_during_outage": .number(Double(acceptedDuringOutage)),
            "failed_by_outage": .number(Double(failedDuringOutage)), "in_slurm_once": .number(Double(once)), "jobs": .number(Double(expected.count)),
            "readyz_showed_outage": .bool(notReadySeen), "metrics_showed_outage": .bool(errorsInMetrics),
        ])
    }

    @Test("service down while its jobs finish and are purged: outcomes from accounting, from exit-code files without accounting, lost (counted) with neither")
    func purgedWhileDown() async throws {
        try DevClusterDaemons.require()
        let services = try [("accounting", "purge-accounting"), ("exit-file", "purge-exitfile"), ("lost", "purge-lost")].map { name, label in
            (name, try probeService(label, extraEdits: [("submission_grace_seconds: 2", "submission_grace_seconds: 2\n    lost_after_seconds: 5")]))
        }
        var jobs: [String: [(id: String, exit: Int, token: String)]] = [:]
        let started = Date()
        for (name, service) in services {
            try await service.start()
            let token = try service.token(group: "cancer_genomics_lab")
            for code in [0, 4] {
                let answer = try await service.request("POST", "/v1/jobs", token: token, body: ProbeSite.request("\(name)-\(code)", seconds: 2, exitCode: code))
                #expect(answer.status == 201)
                jobs[name, default: []].append((try #require(answer.body?["id"]?.stringValue), code, token))
            }
            let submitted = try await waitForStates(service, jobs[name]!.map(\.id), token: token, timeout: 60) { $0 != "accepted" }
            #expect(submitted.values.allSatisfy { $0["native_job_id"] != nil })
        }
        var natives: [String] = []
        for (name, service) in services {
            for job in jobs[name]! {
                natives.append(try #require(try await service.request("GET", "/v1/jobs/\(job.id)", token: job.token).body?["native_job_id"]?.stringValue))
            }
            #expect(service.stop() == 0)
        }
        // The controller forgets finished jobs MinJobAge (30 s on the dev cluster) after they end.
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            let queue = try await run("/usr/bin/env", ["squeue", "-h", "-t", "all", "-j", natives.joined(separator: ","), "-o", "%i"])
            if queue.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { break }
            try await Task.sleep(for: .seconds(2))
        }
        let purgedAfter = Date().timeIntervalSince(started)
        var figures: [String: JSONValue] = ["purged_after_seconds": .number(purgedAfter.rounded())]

        // 1. Accounting answers.
        figures["resolved_from_accounting"] = .number(Double(try await restartAndResolve(services[0].1, jobs["accounting"]!, source: "accounting", timeout: 60)))

        // 2. Accounting down: the exit-code files the jobs wrote decide.
        try await DevClusterDaemons.stop("slurmdbd")
        do {
            figures["resolved_from_exit_files"] = .number(Double(try await restartAndResolve(services[1].1, jobs["exit-file"]!, source: "exit-code file", timeout: 90)))

            // 3. Neither: the run directories are gone too, so after lost_after_seconds the jobs are lost, with the reason, and counted.
            let (_, withNothing) = services[2]
            try FileManager.default.removeItem(atPath: withNothing.root + "/runs")
            try await withNothing.start()
            let lost = try await waitForStates(withNothing, jobs["lost"]!.map(\.id), token: jobs["lost"]![0].token, timeout: 90) { Self.terminal.contains($0) }
            for job in jobs["lost"]! {
                #expect(lost[job.id]?["state"] == "lost", "\(lost[job.id]?.jsonText ?? "")")
                let reason = lost[job.id]?["failure_reason"]?.stringValue ?? ""
                #expect(reason.contains("accounting could not answer") && reason.contains("no exit-code file"), "\(reason)")
            }
            let metrics = try await withNothing.text("/metrics")
            let lostCounter = metrics.split(separator: "\n").filter { $0.hasPrefix("hpcbridge_jobs_lost_total") }
            #expect(lostCounter.contains { $0.hasSuffix(" 2") || $0.hasSuffix(" 2.0") }, "\(lostCounter)")
            #expect(withNothing.stop() == 0)
            figures["marked_lost"] = .number(Double(lost.values.filter { $0["state"] == "lost" }.count))
        } catch {
            try DevClusterDaemons.startMissing()
            throw error
        }
        try DevClusterDaemons.startMissing()
        let rules = try String(contentsOfFile: TestPaths.root + "/contrib/prometheus/hpcbridge.rules.yml", encoding: .utf8)
        #expect(rules.contains("alert: HPCBridgeJobsLost") && rules.contains("hpcbridge_jobs_lost_total"), "an alert fires on lost jobs")
        ReliabilityRun.record("purged-while-down", figures)
    }

    /// Starts a service whose jobs finished while it was down, waits for them to end, checks each outcome
    /// and where it came from, stops it; how many ended.
    func restartAndResolve(_ service: ServeProcess, _ jobs: [(id: String, exit: Int, token: String)], source: String, timeout: TimeInterval) async throws -> Int {
        try await service.start()
        let states = try await waitForStates(service, jobs.map(\.id), token: jobs[0].token, timeout: timeout) { Self.terminal.contains($0) }
        try Self.check(states, jobs, source: source)
        #expect(service.stop() == 0)
        return states.values.filter { Self.terminal.contains($0["state"]?.stringValue ?? "") }.count
    }

    /// Each job ended as its exit code says, and its history names where the outcome came from.
    static func check(_ states: [String: JSONValue], _ jobs: [(id: String, exit: Int, token: String)], source: String) throws {
        for job in jobs {
            let state = states[job.id]
            #expect(state?["state"]?.stringValue == (job.exit == 0 ? "completed" : "failed"), "\(source): \(state?.jsonText ?? "nothing")")
            #expect(state?["exit_code"] == .number(Double(job.exit)), "\(source): \(state?.jsonText ?? "nothing")")
            let reasons = state?["transitions"]?.arrayValue?.compactMap { $0["reason"]?.stringValue } ?? []
            #expect(reasons.contains { $0.contains(source) }, "\(source): the history does not say where the outcome came from: \(reasons)")
        }
    }
}
