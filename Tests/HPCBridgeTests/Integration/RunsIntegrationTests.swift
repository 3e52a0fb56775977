import Foundation
import Synchronization
import Testing
@testable import HPCBridge

/// Cohort runs through a running `hpcbridge serve` on the live cluster: a scatter step as one job array,
/// the joint step chained with `afterok`, every task followed to its end; the shipped cohort pipelines
/// on the demo data with the real tools, and a failing sample that stops the joint step inside Slurm.
@Suite("Runs: cohort pipelines as arrays and dependencies, through the service, live cluster", .enabled(if: LiveCluster.enabled))
struct RunsIntegrationTests {
    func service(_ label: String, edits: [(String, String)] = []) async throws -> ServeProcess {
        try LiveCluster.check()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory(label), edits: edits)
        try await service.start()
        return service
    }

    /// Polls a run until it ends; returns its last representation.
    func waitForEnd(_ id: String, on service: ServeProcess, token: String, timeout: TimeInterval = 300) async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        var last: JSONValue = .null
        while Date() < deadline {
            last = try await service.request("GET", "/v1/runs/\(id)", token: token).body ?? .null
            if let state = last["state"]?.stringValue, ["completed", "failed", "cancelled", "lost"].contains(state) { return last }
            try await Task.sleep(for: .seconds(1))
        }
        let steps = (last["steps"]?.arrayValue ?? []).map { "\($0["name"]?.stringValue ?? "?") \($0["state"]?.stringValue ?? "?") \(LiveCluster.explain(native: $0["native_job_id"]?.stringValue))" }
        Issue.record("run \(id) still \(last["state"]?.stringValue ?? "unknown") after \(Int(timeout)) s: \(steps.joined(separator: "; "))")
        return last
    }

    func step(_ run: JSONValue, _ name: String) -> JSONValue {
        run["steps"]?.arrayValue?.first { $0["name"]?.stringValue == name } ?? .null
    }

    /// The stderr logs of a run's steps and tasks, for failure messages.
    func logs(_ run: JSONValue) -> String {
        guard let directory = run["run_directory"]?.stringValue,
              let files = FileManager.default.enumerator(atPath: directory)?.compactMap({ $0 as? String }) else { return "" }
        return files.filter { $0.hasSuffix("stderr.log") }.sorted().map { file in
            "== \(file)\n" + String(((try? String(contentsOfFile: directory + "/" + file, encoding: .utf8)) ?? "").suffix(1500))
        }.joined(separator: "\n")
    }

    @Test("germline_cohort: four samples aligned as one array, genotyped jointly; every planted variant PASS in every sample")
    func germlineCohort() async throws {
        let service = try await service("runs-germline")
        defer { service.stop() }
        let cohort = try await service.writeDemoGenome()
        let token = try service.token(group: "cancer_genomics_lab")
        let created = try await service.request("POST", "/v1/runs", token: token, body: [
            "pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab", "description": "demo cohort",
            "parameters": ["cohort_id": "demo", "reference_genome": "demo_genome", "quality_threshold": 20, "depth_threshold": 5],
            "samples": .string(try String(contentsOfFile: cohort.sampleSheet, encoding: .utf8)),
            "parallel_limit": 2,
        ])
        #expect(created.status == 201, "\(created.body?.prettyJSON ?? "")")
        let id = try #require(created.body?["id"]?.stringValue)
        #expect(created.headers["location"] == "/v1/runs/\(id)")
        #expect(created.body?["sample_count"] == 4)
        #expect(step(created.body ?? .null, "align")["native_job_id"] != nil, "the array is submitted at once")
        #expect(step(created.body ?? .null, "joint_genotype")["native_job_id"] != nil, "the joint step is submitted at once, after the array")

        let run = try await waitForEnd(id, on: service, token: token)
        #expect(run["state"] == "completed", "\(run.prettyJSON)\n\(logs(run))")
        #expect(step(run, "align")["task_counts"] == ["completed": 4])
        let tasks = try await service.request("GET", "/v1/runs/\(id)/tasks", token: token)
        let listed = tasks.body?["tasks"]?.arrayValue ?? []
        #expect(listed.map { $0["sample_id"]?.stringValue ?? "" } == DemoData.germlineSampleIDs)
        #expect(listed.allSatisfy { $0["state"] == "completed" && $0["exit_code"] == 0 && $0["native_job_id"] != nil }, "\(listed)")
        // The array's tasks ran as Slurm array tasks of one job, each with its own id.
        #expect(Set(listed.compactMap { $0["native_job_id"]?.stringValue }).count == 4)

        let outputs = run["outputs"]?.arrayValue ?? []
        let vcf = try #require(outputs.first { $0["name"] == "variants" }?["path"]?.stringValue)
        #expect(outputs.filter { $0["name"] == "bam" }.count == 4)
        let calls = try await HPCBridgeTests.run("/usr/bin/env", ["bcftools", "query", "-f", "%POS\\t%FILTER[\\t%SAMPLE=%GT]\\n", vcf])
        #expect(calls.status == 0, "\(calls.stderr)")
        var genotypes: [String: [Int: String]] = [:]
        for line in calls.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            guard fields.count >= 3, fields[1] == "PASS", let position = Int(fields[0]) else { continue }
            for field in fields.dropFirst(2) {
                let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2, parts[1] != "0/0", parts[1] != "./." { genotypes[parts[0], default: [:]][position] = parts[1] }
            }
        }
        for (index, sample) in DemoData.germlineSampleIDs.enumerated() {
            #expect(genotypes[sample] == DemoData.plantedVariants(sample: index).genotypesByPosition, "\(sample): \(calls.stdout)")
        }
    }

    @Test("rnaseq_cohort: fastp and salmon as one array, then tximport and DESeq2 find the planted gene")
    func rnaseqCohort() async throws {
        let service = try await service("runs-rnaseq")
        defer { service.stop() }
        let cohort = try await service.writeDemoTranscriptome()
        let token = try service.token(group: "systems_biology_lab")
        let created = try await service.request("POST", "/v1/runs", token: token, body: [
            "pipeline_name": "rnaseq_cohort", "research_group": "systems_biology_lab",
            "parameters": ["study_id": "demo", "reference": "demo_transcriptome",
                           "contrasts": [["numerator": "treated", "denominator": "control"]]],
            "samples": .string(try String(contentsOfFile: cohort.sampleSheet, encoding: .utf8)),
        ])
        #expect(created.status == 201, "\(created.body?.prettyJSON ?? "")")
        let id = try #require(created.body?["id"]?.stringValue)
        let run = try await waitForEnd(id, on: service, token: token)
        #expect(run["state"] == "completed", "\(run.prettyJSON)\n\(logs(run))")
        let directory = try #require(run["run_directory"]?.stringValue)
        let results = try DESeqResults(directory: directory)
        let geneB = try results.row(DemoData.differentiallyExpressedGene)
        #expect(geneB.contrast == "treated_vs_control")
        #expect(geneB.log2FoldChange > 2, "geneB log2FoldChange \(geneB.log2FoldChange), planted log2(10) = 3.3")
    }

    @Test("a corrupt FASTQ fails its task and Slurm cancels the joint step; once fixed, resume runs only what was missing")
    func failingSample() async throws {
        let service = try await service("runs-failing")
        defer { service.stop() }
        let cohort = try await service.writeDemoGenome()
        // The second sample's read 1 is cut in the middle of a record: bwa refuses it.
        let broken = cohort.samples[1].fastqR1
        let text = try String(contentsOfFile: broken, encoding: .utf8)
        try String(text.prefix(text.count / 2)).appending("@truncated\nACGT\n+\n").write(toFile: broken, atomically: true, encoding: .utf8)
        let token = try service.token(group: "cancer_genomics_lab")
        let created = try await service.request("POST", "/v1/runs", token: token, body: [
            "pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab",
            "parameters": ["cohort_id": "broken", "reference_genome": "demo_genome"],
            "samples": .string(try String(contentsOfFile: cohort.sampleSheet, encoding: .utf8)),
        ])
        #expect(created.status == 201, "\(created.body?.prettyJSON ?? "")")
        let id = try #require(created.body?["id"]?.stringValue)
        let run = try await waitForEnd(id, on: service, token: token)
        #expect(run["state"] == "failed", "\(run.prettyJSON)")
        #expect(step(run, "align")["state"] == "failed")
        #expect(step(run, "align")["task_counts"]?["failed"] == 1, "\(step(run, "align"))")
        #expect(step(run, "joint_genotype")["state"] == "failed")
        #expect(step(run, "joint_genotype")["failure_kind"] == "dependency_failed", "\(step(run, "joint_genotype"))")
        let failed = try await service.request("GET", "/v1/runs/\(id)/tasks?state=failed", token: token)
        let tasks = failed.body?["tasks"]?.arrayValue ?? []
        #expect(tasks.map { $0["sample_id"]?.stringValue ?? "" } == ["NA_02"], "\(tasks)")
        #expect(tasks.first?["failure_kind"] == "non_zero_exit")
        let before = try await service.request("GET", "/v1/runs/\(id)/tasks", token: token).body?["tasks"]?.arrayValue ?? []

        // The input is fixed; resume runs NA_02's alignment and the joint step again, nothing else.
        try text.write(toFile: broken, atomically: true, encoding: .utf8)
        let resumed = try await service.request("POST", "/v1/runs/\(id)/resume", token: token)
        #expect(resumed.status == 202, "\(resumed.body?.prettyJSON ?? "")")
        let again = try await waitForEnd(id, on: service, token: token)
        #expect(again["state"] == "completed", "\(again.prettyJSON)\n\(logs(again))")
        let after = try await service.request("GET", "/v1/runs/\(id)/tasks", token: token).body?["tasks"]?.arrayValue ?? []
        #expect(after.allSatisfy { $0["state"] == "completed" }, "\(after)")
        for index in [0, 2, 3] {
            #expect(after[index]["native_job_id"] == before[index]["native_job_id"], "task \(index) kept its first run")
        }
        #expect(after[1]["native_job_id"] != before[1]["native_job_id"], "NA_02 ran again")
        let vcf = try #require(again["outputs"]?.arrayValue?.first { $0["name"] == "variants" }?["path"]?.stringValue)
        #expect(FileManager.default.fileExists(atPath: vcf))
    }

    @Test("kill -9 during a burst of run submissions: every run answered 201 is stored, and every step is in Slurm exactly once")
    func killDuringRuns() async throws {
        try LiveCluster.check()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("runs-kill"), graceSeconds: 3)
        try await service.start()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let start = Date()
        let burst = 10
        let root = service.root + "/reads"
        var answered: [String] = []
        let killed = KillDone()
        for n in 0..<burst {
            if n == 3 {
                // The kill comes from a thread of its own, a few milliseconds into the fourth submission,
                // whatever else the test process is busy with: somewhere between storing and answering.
                Thread.detachNewThread {
                    usleep(UInt32.random(in: 0...15_000))
                    _ = service.stop(signal: SIGKILL)
                    killed.done.withLock { $0 = true }
                }
            }
            let sheet = "sample_id,fastq_r1,fastq_r2\nK\(n)a,\(root)/k\(n)a_1.fq,\(root)/k\(n)a_2.fq\nK\(n)b,\(root)/k\(n)b_1.fq,\(root)/k\(n)b_2.fq\n"
            let body: JSONValue = ["pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab",
                                   "parameters": ["cohort_id": .string("kill\(n)"), "reference_genome": "demo_genome"], "samples": .string(sheet)]
            guard let response = try? await service.request("POST", "/v1/runs", token: token, body: body, headers: ["Idempotency-Key": "kill-\(n)"]),
                  response.status == 201, let id = response.body?["id"]?.stringValue else { continue }
            answered.append(id)
        }
        #expect(!answered.isEmpty, "some runs were answered before the kill")
        #expect(answered.count < burst, "the kill came mid-burst (answered \(answered.count) of \(burst)); if not, raise the burst")
        while !killed.done.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        try await service.start()
        // The restarted service adopts or submits (after the 3 s grace) every step accepted but not recorded.
        var runs: [JSONValue] = []
        let deadline = Date().addingTimeInterval(120)
        repeat {
            try await Task.sleep(for: .seconds(2))
            runs = try await service.request("GET", "/v1/runs?limit=100", token: token).body?["runs"]?.arrayValue ?? []
        } while Date() < deadline && runs.contains { run in run["steps"]?.arrayValue?.contains { $0["native_job_id"] == nil && $0["state"] == "accepted" } == true }
        let stored = Set(runs.compactMap { $0["id"]?.stringValue })
        print("runs kill: \(answered.count) of \(burst) answered before the kill, \(stored.count) stored")
        #expect(Set(answered).isSubset(of: stored), "every 201 is durable")
        let steps = runs.flatMap { $0["steps"]?.arrayValue ?? [] }
        #expect(steps.allSatisfy { $0["native_job_id"] != nil || $0["state"] != "accepted" }, "every step reached Slurm: \(steps.filter { $0["native_job_id"] == nil })")
        var tags = try SlurmTags.submissions(since: start)
        let stepIDs = steps.filter { $0["native_job_id"] != nil }.compactMap { $0["job_id"]?.stringValue }
        for _ in 0..<15 where !stepIDs.allSatisfy({ tags[$0] != nil }) {
            try await Task.sleep(for: .seconds(2))
            tags = try SlurmTags.submissions(since: start)
        }
        for id in stepIDs {
            #expect(tags[id]?.count == 1, "step \(id) is in Slurm \(tags[id]?.count ?? 0) times: \(tags[id] ?? [])")
        }
        for run in runs {
            for step in run["steps"]?.arrayValue ?? [] {
                _ = try? await HPCBridgeTests.run("/usr/bin/env", ["scancel", step["native_job_id"]?.stringValue ?? "0"])
            }
        }
    }

    /// Calls of one operation the service made to the scheduler, from its own /metrics.
    func schedulerCalls(_ operation: String, on service: ServeProcess) async throws -> Int {
        let text = try await service.text("/metrics")
        let line = text.split(separator: "\n").first { $0.hasPrefix("hpcbridge_scheduler_call_duration_seconds_count{") && $0.contains("operation=\"\(operation)\"") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Int(Double($0) ?? -1) } ?? 0
    }

    /// Through the Slurm CLI (`mode: cli`): the array, the afterok dependency with --kill-on-invalid-dep
    /// and the cancel are sbatch and scancel here, where the other runs tests use libslurm.
    @Test("cancel of a running run on the CLI path: one scancel; the running task, the waiting task and the joint step all end cancelled")
    func cancelRunning() async throws {
        let service = try await service("runs-cancel", edits: [("    mode: auto\n", "    mode: cli\n")])
        defer { service.stop() }
        _ = try await service.writeDemoGenome()
        // Reads from named pipes nobody writes to: the task blocks reading its input, running until cancelled.
        let reads = service.root + "/reads/fifo"
        try FileManager.default.createDirectory(atPath: reads, withIntermediateDirectories: true)
        for name in ["A_1", "A_2", "B_1", "B_2"] {
            #expect(mkfifo(reads + "/\(name).fastq", 0o644) == 0)
        }
        let token = try service.token(group: "cancer_genomics_lab")
        let created = try await service.request("POST", "/v1/runs", token: token, body: [
            "pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab",
            "parameters": ["cohort_id": "blocked", "reference_genome": "demo_genome"],
            "samples": .string("sample_id,fastq_r1,fastq_r2\nA,\(reads)/A_1.fastq,\(reads)/A_2.fastq\nB,\(reads)/B_1.fastq,\(reads)/B_2.fastq\n"),
            "parallel_limit": 1,
        ])
        #expect(created.status == 201, "\(created.body?.prettyJSON ?? "")")
        let id = try #require(created.body?["id"]?.stringValue)
        var seen: JSONValue = .null
        // Other tests' jobs may fill the 2-CPU dev node for a while: wait for the task to start.
        let deadline = Date().addingTimeInterval(300)
        repeat {
            try await Task.sleep(for: .seconds(1))
            seen = try await service.request("GET", "/v1/runs/\(id)", token: token).body ?? .null
        } while Date() < deadline && step(seen, "align")["task_counts"]?["running"] != 1
        #expect(step(seen, "align")["task_counts"] == ["running": 1, "queued": 1], "one task runs, the other waits (parallel_limit 1): \(seen.prettyJSON)")
        let metrics = try await service.text("/metrics")
        #expect(metrics.contains("path=\"slurm-cli\"") && !metrics.contains("path=\"slurm-library\""), "the service runs on the CLI path")
        #expect(try await schedulerCalls("cancel", on: service) == 0)
        let cancelled = try await service.request("POST", "/v1/runs/\(id)/cancel", token: token)
        #expect(cancelled.status == 202)
        let run = try await waitForEnd(id, on: service, token: token, timeout: 120)
        #expect(run["state"] == "cancelled", "\(run.prettyJSON)")
        #expect(step(run, "align")["task_counts"] == ["cancelled": 2], "\(step(run, "align"))")
        #expect(step(run, "joint_genotype")["state"] == "cancelled" && step(run, "joint_genotype")["failure_kind"] == "cancelled",
                "Slurm ended the joint step for its cancelled dependency; the run's cancellation makes it cancelled, not failed: \(step(run, "joint_genotype"))")
        #expect(try await schedulerCalls("cancel", on: service) == 1, "one scheduler call for the whole run")
        let again = try await service.request("POST", "/v1/runs/\(id)/cancel", token: token)
        #expect(again.status == 409)
    }

    @Test("bad sample sheets are refused with every cell's place, and nothing is submitted")
    func hostileSheets() async throws {
        let service = try await service("runs-hostile")
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        func submit(_ samples: JSONValue) async throws -> ServeProcess.Response {
            try await service.request("POST", "/v1/runs", token: token, body: [
                "pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab",
                "parameters": ["cohort_id": "x", "reference_genome": "demo_genome"], "samples": samples,
            ])
        }
        let root = service.root + "/reads"
        let injection = try await submit(.string("sample_id,fastq_r1,fastq_r2\n$(touch /tmp/pwned),\(root)/a.fq,\(root)/b.fq\nS2,\(root)/a.fq;rm -rf /,\(root)/b.fq\n"))
        #expect(injection.status == 422)
        let pointers = (injection.body?["errors"]?.arrayValue ?? []).compactMap { $0["pointer"]?.stringValue }
        #expect(pointers.contains("/samples/0/sample_id") && pointers.contains("/samples/1/fastq_r1"), "\(injection.body?.prettyJSON ?? "")")
        let quoting = try await submit(.string("sample_id,fastq_r1,fastq_r2\nS1,\"\(root)/a.fq,\(root)/b.fq\n"))
        #expect(quoting.status == 422 && quoting.body?["errors"]?.arrayValue?.first?["message"]?.stringValue?.hasPrefix("line 2, column 4") == true, "\(quoting.body?.prettyJSON ?? "")")
        let many = try await submit(.string("sample_id,fastq_r1,fastq_r2\n" + (0..<1002).map { "S\($0),\(root)/a.fq,\(root)/b.fq\n" }.joined()))
        #expect(many.status == 422 && many.body?["errors"]?.arrayValue?.first?["pointer"] == "/samples", "\(many.body?.prettyJSON ?? "")")
        let duplicate = try await submit(.string("sample_id,fastq_r1,fastq_r2\nS1,\(root)/a.fq,\(root)/b.fq\nS1,\(root)/a.fq,\(root)/b.fq\n"))
        #expect(duplicate.status == 422 && duplicate.body?["errors"]?.arrayValue?.first?["pointer"] == "/samples/1/sample_id", "\(duplicate.body?.prettyJSON ?? "")")
        let listed = try await service.request("GET", "/v1/runs", token: token)
        #expect(listed.body?["runs"]?.arrayValue?.isEmpty == true, "a refused request stored nothing")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/pwned"))
    }
}

/// Set by the thread that kills the service once the process is gone, so the test restarts it only then.
final class KillDone: Sendable {
    let done = Mutex(false)
}
