import Foundation
import Testing
@testable import HPCBridge

actor ExitBox {
    private(set) var value: Int32?
    func set(_ status: Int32) { value = status }
}

actor AnswerCounter {
    private(set) var count = 0
    func add() { count += 1 }
}

/// `hpcbridge serve` as deployed: a separate process, HTTP, the live cluster, real tools; stopped,
/// killed and restarted.
@Suite("The service end to end: serve, HTTP, live Slurm", .enabled(if: LiveCluster.enabled), .serialized)
struct ServiceEndToEndTests {
    /// Small resources so the one-node dev cluster runs the jobs quickly.
    static let small: JSONValue = ["cpus": 1, "memory": "1G", "time_limit": "00:10:00"]

    static func gatk(_ r1: String, _ r2: String, sample: String = "S1") -> JSONValue {
        ["pipeline_name": "gatk_variant_calling", "research_group": "cancer_genomics_lab", "description": "end-to-end test",
         "parameters": ["sample_id": .string(sample), "reference_genome": "demo_genome", "fastq_r1": .string(r1), "fastq_r2": .string(r2),
                        "caller": "bcftools", "quality_threshold": 20, "depth_threshold": 5],
         "resources": small]
    }

    func started(grace: Int = 3) async throws -> ServeProcess {
        try LiveCluster.check()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("e2e"), graceSeconds: grace)
        try await service.start()
        return service
    }

    @Test("a real pipeline runs from `hpcbridge submit` to completed; status, list and logs show it")
    func realPipeline() async throws {
        let service = try await started()
        defer { service.stop() }
        let sample = try await service.writeDemoGenome().samples[0]
        let token = try service.token(group: "cancer_genomics_lab")
        try TestPaths.write(Self.gatk(sample.fastqR1, sample.fastqR2).jsonText, to: service.root + "/request.json")
        let submitted = try service.command(["submit", service.root + "/request.json", "--idempotency-key", "e2e-1"], token: token)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let id = try #require(try JSONValue.parse(Data(submitted.stdout.utf8))["id"]?.stringValue)
        let job = try await service.waitForEnd(id, token: token)
        #expect(job["state"] == "completed", "\(job.prettyJSON)\n\(service.log.suffix(2000))")
        #expect(job["exit_code"] == 0)
        #expect(job["transitions"]?.arrayValue?.compactMap { $0["to_state"]?.stringValue } == ["accepted", "queued", "running", "completed"])
        // Run time is end minus start as the scheduler reports them (whole seconds in Slurm, so a tiny job may show 0).
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let started = try #require(job["started_at"]?.stringValue.flatMap(formatter.date(from:)))
        let finished = try #require(job["finished_at"]?.stringValue.flatMap(formatter.date(from:)))
        let runSeconds = try #require(job["run_seconds"]?.numberValue)
        #expect(abs(runSeconds - finished.timeIntervalSince(started)) < 0.001)
        #expect(finished >= started && job["native_job_id"] != nil)

        let status = try service.command(["status", id], token: token)
        #expect(status.status == 0)
        #expect(try JSONValue.parse(Data(status.stdout.utf8))["state"] == "completed")
        let list = try service.command(["list", "--state", "completed"], token: token)
        #expect(list.stdout.contains(id), "\(list.stdout)\(list.stderr)")
        let logs = try await service.request("GET", "/v1/jobs/\(id)/logs?lines=50", token: token)
        #expect(logs.status == 200)
        #expect(logs.body?["stderr"]?.stringValue?.isEmpty == false, "the tools write progress to stderr")
        let again = try service.command(["submit", service.root + "/request.json", "--idempotency-key", "e2e-1"], token: token)
        #expect(try JSONValue.parse(Data(again.stdout.utf8))["id"]?.stringValue == id, "a retry returns the first job")
    }

    @Test("a failing pipeline ends failed with its exit code; `hpcbridge submit` reports a bad request with pointers")
    func failingPipeline() async throws {
        let service = try await started()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        // No reference files exist under this scratch root: bwa fails, and so does the job.
        let created = try await service.request("POST", "/v1/jobs", token: token, body: Self.gatk("/data/cancer_genomics_lab/missing/S1_R1.fastq", "/data/cancer_genomics_lab/missing/S1_R2.fastq"))
        #expect(created.status == 201)
        let id = try #require(created.body?["id"]?.stringValue)
        let job = try await service.waitForEnd(id, token: token)
        #expect(job["state"] == "failed", "\(job.prettyJSON)")
        #expect(job["failure_kind"] == "non_zero_exit")
        #expect((job["exit_code"]?.numberValue ?? 0) != 0)
        #expect(job["failure_reason"]?.stringValue?.contains("exited with status") == true)
        // `hpcbridge watch` replays the job's history, ends with its end, and says how it ended.
        let watched = try service.command(["watch", id, "--timeout", "60"], token: token)
        #expect(watched.status == 1, "a failed job ends the watch with status 1: \(watched.stderr)")
        let lines = watched.stdout.split(separator: "\n")
        #expect(lines.count == 4 && lines.last?.contains("running → failed") == true, "\(watched.stdout)")
        // On a terminal (`script` gives it one) a progress line shows the state and how long it has lasted.
        var environment = ProcessInfo.processInfo.environment
        environment["HPCBRIDGE_URL"] = "http://127.0.0.1:\(service.port)"
        environment["HPCBRIDGE_TOKEN"] = token
        let tty = try await run("/usr/bin/script", ["-qfec", "\(ServeProcess.binary) watch \(id) --timeout 60", "/dev/null"], environment: environment)
        #expect(tty.stdout.contains("\u{1B}[2K  failed for "), "\(tty.stdout.debugDescription.suffix(400))")

        var bad = Self.gatk("relative.fastq", "/x_R2.fastq")
        if case .object(var members) = bad { members["research_group"] = "systems_biology_lab"; bad = .object(members) }
        try TestPaths.write(bad.jsonText, to: service.root + "/bad.json")
        let refused = try service.command(["submit", service.root + "/bad.json"], token: token)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("403"), "naming another group is refused: \(refused.stderr)")
    }

    @Test("cancel through the API reaches the scheduler; the job ends cancelled")
    func cancel() async throws {
        let service = try await started()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let created = try await service.request("POST", "/v1/jobs", token: token, body: Self.gatk("/data/cancer_genomics_lab/missing/a_R1.fastq", "/data/cancer_genomics_lab/missing/a_R2.fastq"))
        let id = try #require(created.body?["id"]?.stringValue)
        let native = try #require(created.body?["native_job_id"]?.stringValue)
        // Held by an admin, so it cannot finish on its own before the cancel.
        _ = try await run("/usr/bin/env", ["scontrol", "hold", native])
        let cancelled = try service.command(["cancel", id], token: token)
        #expect(cancelled.status == 0, "\(cancelled.stderr)")
        let job = try await service.waitForEnd(id, token: token, timeout: 120)
        #expect(job["state"] == "cancelled", "\(job.prettyJSON)")
        #expect(job["failure_kind"] == "cancelled")
        let again = try service.command(["cancel", id], token: token)
        #expect(again.status == 1 && again.stderr.contains("409"))
    }

    @Test("GET /v1/events streams a job's transitions over HTTP, resumes with Last-Event-ID, and ends on SIGTERM")
    func events() async throws {
        let service = try await started()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let created = try await service.request("POST", "/v1/jobs", token: token, body: Self.gatk("/data/cancer_genomics_lab/missing/e_R1.fastq", "/data/cancer_genomics_lab/missing/e_R2.fastq"))
        let id = try #require(created.body?["id"]?.stringValue)
        _ = try await service.waitForEnd(id, token: token)
        // A client that saw the first event resumes after it: the rest of the history comes first.
        let replay = try await run("/usr/bin/env", ["curl", "-sN", "--max-time", "3", "-H", "Authorization: Bearer \(token)", "-H", "Last-Event-ID: 1",
                                              "http://127.0.0.1:\(service.port)/v1/events?job_id=\(id)"])
        let states = replay.stdout.split(separator: "\n").filter { $0.hasPrefix("data: ") }
            .compactMap { try? JSONValue.parse(String($0.dropFirst(6)))["to_state"]?.stringValue }
        #expect(states == ["queued", "running", "failed"], "\(replay.stdout)")
        #expect(replay.stdout.contains("id: 2\nevent: transition\n"))

        // An open stream ends when the service stops, and the stop is still graceful.
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sN", "--max-time", "60", "-o", service.root + "/stream.txt", "-H", "Authorization: Bearer \(token)",
                          "http://127.0.0.1:\(service.port)/v1/events"]
        try curl.run()
        try await Task.sleep(for: .seconds(1))
        let began = Date()
        #expect(service.stop(signal: SIGTERM) == 0)
        curl.waitUntilExit()
        #expect(Date().timeIntervalSince(began) < 10, "the stream closed with the service")
        #expect(curl.terminationStatus == 0, "curl saw a clean end of the stream, not a timeout")
        #expect((try? String(contentsOfFile: service.root + "/stream.txt", encoding: .utf8))?.hasPrefix("retry: 3000") == true)
    }

    @Test("SIGHUP reloads the catalogs: a good change is served at once, a broken one keeps the old catalog")
    func reloadOnSIGHUP() async throws {
        try LiveCluster.check()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("e2e"))
        defer { service.stop() }
        let catalogs = service.root + "/catalogs"
        try TestPaths.copyCatalogs(to: catalogs)
        try TestPaths.write(try String(contentsOfFile: service.configPath, encoding: .utf8)
            .replacingOccurrences(of: "catalogs: \(TestPaths.catalog)", with: "catalogs: \(catalogs)"), to: service.configPath)
        try await service.start()
        let path = catalogs + "/gatk_variant_calling.yaml"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        func version() async throws -> String? {
            try await service.request("GET", "/v1/pipelines/gatk_variant_calling").body?["version"]?.stringValue
        }
        #expect(try await version() == "1.0.0")
        try TestPaths.write(original.replacingOccurrences(of: "version: 1.0.0", with: "version: 1.2.0"), to: path)
        #expect(service.signal(SIGHUP))
        var seen = try await version()
        for _ in 0..<50 where seen != "1.2.0" { try await Task.sleep(for: .milliseconds(100)); seen = try await version() }
        #expect(seen == "1.2.0")

        try TestPaths.write(original.replacingOccurrences(of: "version: 1.0.0", with: "version: 9.9.9")
            .replacingOccurrences(of: "      minimum: 0\n      default: 30\n", with: "      minimun: 0\n      default: 30\n"), to: path)
        #expect(service.signal(SIGHUP))
        for _ in 0..<50 where !service.log.contains("reload failed") { try await Task.sleep(for: .milliseconds(100)) }
        #expect(service.log.contains("gatk_variant_calling.yaml:"), "the broken file is named with its position")
        #expect(try await version() == "1.2.0", "the previous catalog keeps serving")
        let metrics = try await service.request("GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(service.stop(signal: SIGTERM) == 0)
    }

    @Test("SIGTERM stops gracefully; jobs that finish while the service is down are recorded after a restart")
    func stopAndRestart() async throws {
        let service = try await started()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let created = try await service.request("POST", "/v1/jobs", token: token, body: Self.gatk("/data/cancer_genomics_lab/missing/b_R1.fastq", "/data/cancer_genomics_lab/missing/b_R2.fastq"))
        let id = try #require(created.body?["id"]?.stringValue)
        let native = try #require(created.body?["native_job_id"]?.stringValue)
        #expect(service.stop(signal: SIGTERM) == 0, "a graceful stop exits 0:\n\(service.log.suffix(2000))")
        _ = try await LiveCluster.waitFor(NativeJobID(native), on: SlurmCLIScheduler(), since: Date().addingTimeInterval(-600), timeout: 120)
        try await service.start()
        let job = try await service.waitForEnd(id, token: token, timeout: 120)
        #expect(job["state"] == "failed", "\(job.prettyJSON)")
        #expect(job["native_job_id"]?.stringValue == native)
    }

    @Test("SIGTERM during a burst drains in-flight submissions: every stored job reached Slurm, and the service exits 0")
    func drainOnSIGTERM() async throws {
        let service = try await started(grace: 60)
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let counter = AnswerCounter()
        let exitStatus = ExitBox()
        let answered = try await withThrowingTaskGroup(of: String?.self) { group in
            for n in 0..<60 {
                group.addTask {
                    let body = Self.gatk("/data/cancer_genomics_lab/missing/t\(n)_R1.fastq", "/data/cancer_genomics_lab/missing/t\(n)_R2.fastq", sample: "T\(n)")
                    guard let response = try? await service.request("POST", "/v1/jobs", token: token, body: body),
                          response.status == 201 else { return nil }
                    await counter.add()
                    return response.body?["id"]?.stringValue
                }
            }
            group.addTask {
                while await counter.count < 5 { try await Task.sleep(for: .milliseconds(5)) }
                await exitStatus.set(service.stop(signal: SIGTERM))
                return nil
            }
            var ids: [String] = []
            for try await id in group { if let id { ids.append(id) } }
            return ids
        }
        #expect(await exitStatus.value == 0, "graceful stop exits 0:\n\(service.log.suffix(2000))")
        let store = try JobStore(path: service.root + "/store.sqlite")
        let stored = try store.jobs(.init(), limit: 500).jobs
        #expect(Set(answered).isSubset(of: Set(stored.map { $0.id.uuidString.lowercased() })))
        #expect(stored.allSatisfy { $0.nativeJobID != nil }, "no submission was cut off: \(stored.filter { $0.nativeJobID == nil }.map(\.id))")
        for job in stored { if let native = job.nativeJobID { _ = try? await run("/usr/bin/env", ["scancel", native]) } }
    }

    @Test("with the controller unreachable POST answers 201 accepted; after kill -9 and a restart that reaches it, the job runs once, never failed")
    func controllerOutage() async throws {
        try LiveCluster.check()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("e2e"), graceSeconds: 3)
        defer { service.stop() }
        // This service's controller is down; the cluster itself keeps running for the other tests.
        try await service.start(environment: ["SLURM_CONF": try UnreachableController.slurmConf(in: service.root)])
        let token = try service.token(group: "cancer_genomics_lab")
        var ready = try await service.request("GET", "/readyz")
        for _ in 0..<60 where ready.status == 200 || ready.body?["checks"]?["cluster:dev"]?["detail"]?.stringValue?.contains("no reconcile cycle") == true {
            try await Task.sleep(for: .seconds(1))
            ready = try await service.request("GET", "/readyz")
        }
        #expect(ready.status == 503)
        #expect(ready.body?["checks"]?["cluster:dev"]?["ok"] == false)
        let began = Date()
        let created = try await service.request("POST", "/v1/jobs", token: token, body: Self.gatk("/data/cancer_genomics_lab/missing/o_R1.fastq", "/data/cancer_genomics_lab/missing/o_R2.fastq"))
        let answeredIn = Date().timeIntervalSince(began)
        #expect(created.status == 201)
        #expect(created.body?["state"] == "accepted")
        #expect(answeredIn < 5, "with the controller known down the request does not wait for it (\(answeredIn) s)")
        let id = try #require(created.body?["id"]?.stringValue)
        // Several failed cycles later the job is still accepted: an outage is not a job failure.
        try await Task.sleep(for: .seconds(5))
        #expect(try await service.request("GET", "/v1/jobs/\(id)", token: token).body?["state"] == "accepted")
        service.stop(signal: SIGKILL)
        try await service.start()
        let job = try await service.waitForEnd(id, token: token, timeout: 180)
        #expect(job["state"] == "failed", "the job ran (and failed on its missing input): \(job.prettyJSON)")
        #expect(job["failure_kind"] == "non_zero_exit", "not a launch failure: the outage never fails a job")
        let states = job["transitions"]?.arrayValue?.compactMap { $0["to_state"]?.stringValue } ?? []
        #expect(states.first == "accepted" && states.filter { $0 == "queued" }.count == 1, "\(states)")
        #expect(job["transitions"]?.arrayValue?.contains { $0["source"] == "recovery" } == true, "the restarted service submitted it")
        var tags = try SlurmTags.nativeIDs(since: began)
        for _ in 0..<15 where tags[id] == nil {
            try await Task.sleep(for: .seconds(2))
            tags = try SlurmTags.nativeIDs(since: began)
        }
        #expect(tags[id]?.count == 1, "in Slurm exactly once: \(tags[id] ?? [])")
    }

    @Test("kill -9 during a burst of submissions: every job answered 201, and every job stored, is in Slurm exactly once")
    func killDuringBurst() async throws {
        let service = try await started(grace: 3)
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let admin = try service.token(group: nil)
        let start = Date()
        let burst = 150
        let counter = AnswerCounter()
        let answered = try await withThrowingTaskGroup(of: String?.self) { group in
            for n in 0..<burst {
                group.addTask {
                    let body = Self.gatk("/data/cancer_genomics_lab/missing/k\(n)_R1.fastq", "/data/cancer_genomics_lab/missing/k\(n)_R2.fastq", sample: "K\(n)")
                    guard let response = try? await service.request("POST", "/v1/jobs", token: token, body: body, headers: ["Idempotency-Key": "burst-\(n)"]),
                          response.status == 201 else { return nil }
                    await counter.add()
                    return response.body?["id"]?.stringValue
                }
            }
            group.addTask {
                // Kill the service while requests are in flight: once ten have been answered.
                while await counter.count < 10 { try await Task.sleep(for: .milliseconds(5)) }
                service.stop(signal: SIGKILL)
                return nil
            }
            var ids: [String] = []
            for try await id in group { if let id { ids.append(id) } }
            return ids
        }
        #expect(!answered.isEmpty, "some requests were answered before the kill")
        #expect(answered.count < burst, "the kill came mid-burst (answered \(answered.count) of \(burst)); if not, raise the burst")

        try await service.start()
        // After the grace period the reconciler adopts or submits whatever was accepted but not recorded.
        var stored: [JSONValue] = []
        let deadline = Date().addingTimeInterval(90)
        repeat {
            try await Task.sleep(for: .seconds(2))
            stored = try await service.request("GET", "/v1/jobs?limit=500", token: admin).body?["jobs"]?.arrayValue ?? []
        } while Date() < deadline && stored.contains { $0["native_job_id"] == nil && $0["state"] != "cancelled" }
        let storedIDs = Set(stored.compactMap { $0["id"]?.stringValue })
        #expect(Set(answered).isSubset(of: storedIDs), "every 201 is durable")
        #expect(stored.allSatisfy { $0["native_job_id"] != nil }, "every stored job reached Slurm: \(stored.filter { $0["native_job_id"] == nil })")

        // Accounting may lag the controller by a moment: look again until every stored job shows up.
        var tags = try SlurmTags.nativeIDs(since: start)
        for _ in 0..<15 where !storedIDs.allSatisfy({ tags[$0] != nil }) {
            try await Task.sleep(for: .seconds(2))
            tags = try SlurmTags.nativeIDs(since: start)
        }
        for id in storedIDs {
            #expect(tags[id]?.count == 1, "job \(id) is in Slurm \(tags[id]?.count ?? 0) times: \(tags[id] ?? [])")
        }
        let ours = tags.keys.filter { storedIDs.contains($0) }
        #expect(ours.count == storedIDs.count)
        for job in stored {
            if let native = job["native_job_id"]?.stringValue { _ = try? await run("/usr/bin/env", ["scancel", native]) }
        }
    }
}
