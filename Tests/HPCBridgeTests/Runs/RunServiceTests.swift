import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import HPCBridge

/// Runs through the API in process, on the in-memory scheduler: what is submitted (one array and one
/// dependent job, whatever the number of samples), what the reconciler makes of the tasks, cancel, and
/// a run accepted while the controller is down.
@Suite("Runs through the API (in-memory scheduler)")
struct RunServiceTests {
    static func sheet(_ rows: Int, root: String) -> String {
        "sample_id,fastq_r1,fastq_r2\n" + (0..<rows).map { "S\($0),\(root)/S\($0)_1.fq,\(root)/S\($0)_2.fq\n" }.joined()
    }

    func request(_ rows: Int, service: TestService, parallel: Int? = nil) -> JSONValue {
        var body: [String: JSONValue] = [
            "pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab",
            "parameters": ["cohort_id": "c1", "reference_genome": "hg38"],
            "samples": .string(Self.sheet(rows, root: "/data/cancer_genomics_lab/c1")),
        ]
        if let parallel { body["parallel_limit"] = .number(Double(parallel)) }
        return .object(body)
    }

    func post(_ client: any TestClientProtocol, _ path: String, token: String, body: JSONValue? = nil, key: String? = nil) async throws -> (status: Int, body: JSONValue) {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        // Actions (cancel, resume) and submissions are POSTs; the rest are reads.
        let isAction = body != nil || path.hasSuffix("/cancel") || path.hasSuffix("/resume")
        let response = try await client.execute(uri: path, method: isAction ? .post : .get,
                                                headers: headers, body: body.map { ByteBuffer(string: $0.jsonText) })
        return (Int(response.status.code), (try? JSONValue.parse(Data(buffer: response.body))) ?? .null)
    }

    @Test("1,000 samples cost two submissions: one array throttled by the group's quota, one job after it")
    func thousandSamples() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let (status, run) = try await post(client, "/v1/runs", token: token, body: request(1000, service: service))
            #expect(status == 201, "\(run.prettyJSON)")
            #expect(run["sample_count"] == 1000)
            let align = run["steps"]?.arrayValue?[0], joint = run["steps"]?.arrayValue?[1]
            #expect(align?["state"] == "queued" && joint?["state"] == "queued", "\(run.prettyJSON)")
            #expect(align?["task_counts"] == ["queued": 1000], "the tasks wait in the submitted array")
            let arrayID = try #require(align?["native_job_id"]?.stringValue)
            let jointID = try #require(joint?["native_job_id"]?.stringValue)
            #expect(await fake.submitCount == 2)
            let arraySpec = try #require(await fake.specs[NativeJobID(arrayID)])
            // max_active_jobs of cancer_genomics_lab in the shipped config is 200: throttled, not refused.
            #expect(arraySpec.array?.indexList == "0-999%200")
            #expect(arraySpec.afterOK.isEmpty && !arraySpec.killOnInvalidDependency)
            let jointSpec = try #require(await fake.specs[NativeJobID(jointID)])
            #expect(jointSpec.array == nil)
            #expect(jointSpec.afterOK == [NativeJobID(arrayID)])
            #expect(jointSpec.killOnInvalidDependency)
            #expect(run["outputs"]?.arrayValue?.count == 2002, "a BAM and a GVCF per sample, the joint VCF and its stats")
            // The task scripts are on disk before the array was submitted.
            let directory = try #require(run["run_directory"]?.stringValue)
            #expect(FileManager.default.fileExists(atPath: directory + "/steps/align/tasks/999.sh"))
        }
    }

    @Test("the reconciler follows each task; the step and the run end with them")
    func tasksFollowed() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let (_, run) = try await post(client, "/v1/runs", token: token, body: request(3, service: service, parallel: 2))
            let id = try #require(run["id"]?.stringValue)
            let arrayID = NativeJobID(try #require(run["steps"]?.arrayValue?[0]["native_job_id"]?.stringValue))
            let jointID = NativeJobID(try #require(run["steps"]?.arrayValue?[1]["native_job_id"]?.stringValue))
            #expect(await fake.specs[arrayID]?.array?.indexList == "0-2%2")
            await fake.startTask(arrayID, 0, .completed)
            await fake.startTask(arrayID, 1)
            _ = try await service.reconciler.cycle()
            var (_, seen) = try await post(client, "/v1/runs/\(id)", token: token)
            #expect(seen["state"] == "running")
            #expect(seen["steps"]?.arrayValue?[0]["task_counts"] == ["completed": 1, "running": 1, "queued": 1])
            await fake.set(NativeJobID("\(arrayID)_1"), .completed)
            await fake.startTask(arrayID, 2, .completed)
            await fake.set(jointID, .completed)
            _ = try await service.reconciler.cycle()
            (_, seen) = try await post(client, "/v1/runs/\(id)", token: token)
            #expect(seen["state"] == "completed", "\(seen.prettyJSON)")
            let (_, tasks) = try await post(client, "/v1/runs/\(id)/tasks", token: token)
            #expect(tasks["tasks"]?.arrayValue?.map { $0["native_job_id"]?.stringValue ?? "" } == ["\(arrayID)_0", "\(arrayID)_1", "\(arrayID)_2"])
            #expect(tasks["tasks"]?.arrayValue?.allSatisfy { $0["state"] == "completed" && $0["exit_code"] == 0 } == true)
            // The steps' transitions name their run and step in the event stream, live and replayed.
            let replayed = try service.store.transitions(after: 0, group: "cancer_genomics_lab")
            let stepEvents = replayed.filter { $0.step?.runID.uuidString.lowercased() == id }
            #expect(Set(stepEvents.compactMap(\.step?.step)) == ["align", "joint_genotype"])
            #expect(stepEvents.contains { $0.step?.step == "align" && $0.transition.toState == .completed })
            let frame = ServerSentEvents.transition(try #require(stepEvents.last))
            #expect(frame.contains("\"run_id\":\"\(id)\"") && frame.contains("\"step\":"), "\(frame)")
            // Task metrics per pipeline and step (no run ids in labels).
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            let lines = String(buffer: metrics.body).split(separator: "\n").map(String.init)
            func value(_ name: String, _ labels: [String]) -> String? {
                lines.first { $0.hasPrefix(name + "{") && labels.allSatisfy($0.contains) }?.split(separator: " ").last.map(String.init)
            }
            let align = [#"pipeline="germline_cohort""#, #"step="align""#]
            #expect(value("hpcbridge_run_tasks", align + [#"state="completed""#]) == "3.0", "\(lines.filter { $0.contains("run_task") })")
            #expect(value("hpcbridge_run_tasks", align + [#"state="queued""#]) == "0.0")
            #expect(value("hpcbridge_run_tasks_finished_total", align + [#"outcome="completed""#]) == "3")
            #expect(value("hpcbridge_run_task_run_seconds_count", align) == "3")
            #expect(!lines.contains { $0.contains(id) }, "no run id in any label")
            // A task's logs, through the URL the task listing gives, with the same token.
            let directory = try #require(seen["run_directory"]?.stringValue)
            try TestPaths.write("aligned S1\n", to: directory + "/steps/align/tasks/1.stdout.log")
            try TestPaths.write("warning: low coverage\n", to: directory + "/steps/align/tasks/1.stderr.log")
            let url = try #require(tasks["tasks"]?.arrayValue?[1]["logs_url"]?.stringValue)
            #expect(url == "/v1/runs/\(id)/tasks/align/1/logs")
            let (logStatus, logs) = try await post(client, url, token: token)
            #expect(logStatus == 200 && logs["stdout"] == "aligned S1\n" && logs["stderr"] == "warning: low coverage\n", "\(logs.prettyJSON)")
            #expect(try await post(client, "/v1/runs/\(id)/tasks/align/3/logs", token: token).status == 404, "no task 3")
            #expect(try await post(client, "/v1/runs/\(id)/tasks/joint_genotype/0/logs", token: token).status == 404, "the joint step has no tasks")
            // Another group's token sees no such run.
            let other = try service.token(group: "systems_biology_lab")
            #expect(try await post(client, "/v1/runs/\(id)", token: other).status == 404)
            #expect(try await post(client, "/v1/runs/\(id)/tasks", token: other).status == 404)
            #expect(try await post(client, url, token: other).status == 404)
        }
    }

    @Test("an array the controller has forgotten is resolved task by task from accounting, or from the tasks' exit-code files")
    func purgedArray() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let (_, run) = try await post(client, "/v1/runs", token: token, body: request(3, service: service))
            let id = try #require(run["id"]?.stringValue)
            let directory = try #require(run["run_directory"]?.stringValue)
            let arrayID = NativeJobID(try #require(run["steps"]?.arrayValue?[0]["native_job_id"]?.stringValue))
            await fake.startTask(arrayID, 0, .completed)
            await fake.startTask(arrayID, 1, .failed(.nonZeroExit(code: 2)), exit: ProcessExit(code: 2))
            await fake.startTask(arrayID, 2)
            _ = try await service.reconciler.cycle()
            // Task 2 ends and every record leaves the controller while the service does not look; task 1's
            // accounting record is lost too, so its exit-code file has to tell.
            await fake.set(NativeJobID("\(arrayID)_2"), .completed)
            for index in 0..<3 { await fake.purge(NativeJobID("\(arrayID)_\(index)")) }
            await fake.forgetAccounting(NativeJobID("\(arrayID)_1"))
            try TestPaths.write("2\n", to: directory + "/steps/align/tasks/1.exit_code")
            _ = try await service.reconciler.cycle()
            let (_, tasks) = try await post(client, "/v1/runs/\(id)/tasks", token: token)
            #expect(tasks["tasks"]?.arrayValue?.map { $0["state"]?.stringValue ?? "" } == ["completed", "failed", "completed"], "\(tasks.prettyJSON)")
            #expect(tasks["tasks"]?.arrayValue?[1]["exit_code"] == 2)
            let (_, seen) = try await post(client, "/v1/runs/\(id)", token: token)
            #expect(seen["steps"]?.arrayValue?[0]["state"] == "failed", "\(seen.prettyJSON)")
            #expect(seen["steps"]?.arrayValue?[0]["failure_kind"] == "non_zero_exit")
        }
    }

    @Test("resume: only the failed task runs again, as a new array with a new tag, and the joint step after it")
    func resume() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let (_, run) = try await post(client, "/v1/runs", token: token, body: request(3, service: service))
            let id = try #require(run["id"]?.stringValue)
            let arrayID = NativeJobID(try #require(run["steps"]?.arrayValue?[0]["native_job_id"]?.stringValue))
            let jointID = NativeJobID(try #require(run["steps"]?.arrayValue?[1]["native_job_id"]?.stringValue))
            let oldAlign = try #require(run["steps"]?.arrayValue?[0]["job_id"]?.stringValue)
            #expect(try await post(client, "/v1/runs/\(id)/resume", token: token).status == 409, "a run that has not ended cannot be resumed")
            await fake.startTask(arrayID, 0, .completed)
            await fake.startTask(arrayID, 1, .failed(.nonZeroExit(code: 1)), exit: ProcessExit(code: 1))
            await fake.startTask(arrayID, 2, .completed)
            await fake.set(jointID, .failed(.dependencyNeverSatisfied))
            _ = try await service.reconciler.cycle()
            var (_, seen) = try await post(client, "/v1/runs/\(id)", token: token)
            #expect(seen["state"] == "failed", "\(seen.prettyJSON)")

            let (status, resumed) = try await post(client, "/v1/runs/\(id)/resume", token: token)
            #expect(status == 202, "\(resumed.prettyJSON)")
            let align = try #require(resumed["steps"]?.arrayValue?[0]), joint = try #require(resumed["steps"]?.arrayValue?[1])
            let newAlign = try #require(align["job_id"]?.stringValue)
            #expect(newAlign != oldAlign, "a new attempt is a new job with a new scheduler tag")
            let newArray = NativeJobID(try #require(align["native_job_id"]?.stringValue))
            let newJoint = NativeJobID(try #require(joint["native_job_id"]?.stringValue))
            #expect(newArray != arrayID && newJoint != jointID)
            let arraySpec = try #require(await fake.specs[newArray])
            #expect(arraySpec.array?.indexList.hasPrefix("1") == true, "only the failed task: \(arraySpec.array?.indexList ?? "")")
            #expect(arraySpec.comment == "hpcbridge:\(newAlign)")
            #expect(!arraySpec.script.contains(oldAlign) && arraySpec.script.contains(newAlign))
            #expect(await fake.specs[newJoint]?.afterOK == [newArray])
            #expect(align["task_counts"] == ["completed": 2, "queued": 1], "\(align)")
            let directory = try #require(resumed["run_directory"]?.stringValue)
            let script = try String(contentsOfFile: directory + "/steps/align/tasks/1.sh", encoding: .utf8)
            #expect(script.contains(newAlign) && !script.contains(oldAlign), "the task's script carries the new attempt's id")

            await fake.startTask(newArray, 1, .completed)
            await fake.set(newJoint, .completed)
            _ = try await service.reconciler.cycle()
            (_, seen) = try await post(client, "/v1/runs/\(id)", token: token)
            #expect(seen["state"] == "completed", "\(seen.prettyJSON)")
            let (_, tasks) = try await post(client, "/v1/runs/\(id)/tasks", token: token)
            #expect(tasks["tasks"]?.arrayValue?.map { $0["native_job_id"]?.stringValue ?? "" } == ["\(arrayID)_0", "\(newArray)_1", "\(arrayID)_2"],
                    "completed tasks keep their first run")
            #expect(try await post(client, "/v1/runs/\(id)/resume", token: token).status == 409, "nothing left to resume")
        }
    }

    @Test("cancel: one scheduler call naming only the first open step; the step after it, ended by the scheduler, is cancelled, not failed; a finished run is 409")
    func cancel() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let (_, run) = try await post(client, "/v1/runs", token: token, body: request(3, service: service))
            let id = try #require(run["id"]?.stringValue)
            let arrayID = NativeJobID(try #require(run["steps"]?.arrayValue?[0]["native_job_id"]?.stringValue))
            await fake.startTask(arrayID, 0, .completed)
            await fake.startTask(arrayID, 1)
            _ = try await service.reconciler.cycle()
            let (status, _) = try await post(client, "/v1/runs/\(id)/cancel", token: token)
            #expect(status == 202)
            #expect(await fake.cancelCalls == 1)
            #expect(await fake.cancelled == [arrayID], "the joint step depends on the array with KILL_INV_DEP: the scheduler ends it")
            _ = try await service.reconciler.cycle()
            let (_, seen) = try await post(client, "/v1/runs/\(id)", token: token)
            #expect(seen["state"] == "cancelled", "\(seen.prettyJSON)")
            let joint = seen["steps"]?.arrayValue?[1]
            #expect(joint?["state"] == "cancelled" && joint?["failure_kind"] == "cancelled", "\(seen.prettyJSON)")
            #expect(seen["steps"]?.arrayValue?[0]["task_counts"] == ["completed": 1, "cancelled": 2], "\(seen.prettyJSON)")
            #expect(try await post(client, "/v1/runs/\(id)/cancel", token: token).status == 409)
            #expect(await fake.cancelCalls == 1)
        }
    }

    @Test("cancel of a run whose first step completed names only the step still running; a resume clears the cancellation")
    func cancelLaterStep() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let (_, run) = try await post(client, "/v1/runs", token: token, body: request(2, service: service))
            let id = try #require(run["id"]?.stringValue)
            let arrayID = NativeJobID(try #require(run["steps"]?.arrayValue?[0]["native_job_id"]?.stringValue))
            let jointID = NativeJobID(try #require(run["steps"]?.arrayValue?[1]["native_job_id"]?.stringValue))
            await fake.startTask(arrayID, 0, .completed)
            await fake.startTask(arrayID, 1, .completed)
            await fake.set(jointID, .running)
            _ = try await service.reconciler.cycle()
            #expect(try await post(client, "/v1/runs/\(id)/cancel", token: token).status == 202)
            #expect(await fake.cancelled == [jointID])
            #expect(await fake.cancelCalls == 1)
            _ = try await service.reconciler.cycle()
            #expect(try await post(client, "/v1/runs/\(id)", token: token).body["state"] == "cancelled")
            let runID = try #require(UUID(uuidString: id))
            #expect(try service.store.run(runID)?.cancelRequestedAt != nil)
            #expect(try await post(client, "/v1/runs/\(id)/resume", token: token).status == 202)
            #expect(try service.store.run(runID)?.cancelRequestedAt == nil,
                    "a later dependency failure of the resumed run is a failure, not the old cancel")
        }
    }

    @Test("events of one run: its steps' history from Last-Event-ID, then live, and no other run's; another group's run is not found")
    func runEvents() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let (_, first) = try await post(client, "/v1/runs", token: token, body: request(2, service: service))
            _ = try await post(client, "/v1/runs", token: token, body: request(2, service: service))
            let text = try #require(first["id"]?.stringValue)
            let id = try #require(UUID(uuidString: text))
            let stream = try await service.assembly.service.eventStream(for: .group("cancer_genomics_lab"), lastEventID: "0", jobID: nil, runID: id)
            let history = try await EventStreamTests.read(stream, transitions: 4).filter { $0.contains("event: transition") }.map(EventStreamTests.data)
            #expect(history.count == 4 && history.allSatisfy { $0["run_id"]?.stringValue == id.uuidString.lowercased() }, "\(history)")
            #expect(Set(history.compactMap { $0["step"]?.stringValue }) == ["align", "joint_genotype"])
            await #expect(throws: JobService.Refusal.self) {
                try await service.assembly.service.eventStream(for: .group("systems_biology_lab"), lastEventID: nil, jobID: nil, runID: id)
            }
            let live = try await service.assembly.service.eventStream(for: .group("cancer_genomics_lab"), lastEventID: nil, jobID: nil, runID: id)
            #expect(try await post(client, "/v1/runs/\(id)/cancel", token: token).status == 202)
            _ = try await service.reconciler.cycle()
            let ended = try await EventStreamTests.read(live, transitions: 2).filter { $0.contains("event: transition") }.map(EventStreamTests.data)
            #expect(ended.compactMap { $0["to_state"]?.stringValue } == ["cancelled", "cancelled"], "\(ended)")
        }
    }

    @Test("a sheet longer than the cluster's MaxArraySize: one 422 at /samples naming the limit, nothing stored or submitted")
    func maxArraySize() async throws {
        let fake = FakeScheduler()
        await fake.setMaxArrayTasks(4)
        let service = try TestService(scheduler: fake)
        await service.reconciler.refreshLimits()
        #expect(await service.reconciler.limits()?.maxArrayTasks == 4)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let (status, problem) = try await post(client, "/v1/runs", token: token, body: request(5, service: service))
            #expect(status == 422, "\(problem.prettyJSON)")
            let errors = problem["errors"]?.arrayValue ?? []
            #expect(errors.count == 1 && errors.first?["pointer"] == "/samples", "\(problem.prettyJSON)")
            #expect(errors.first?["message"]?.stringValue?.contains("at most 4 tasks") == true, "\(problem.prettyJSON)")
            #expect(await fake.submitCount == 0)
            #expect(try service.store.runs(.init()).runs.isEmpty)
            let (accepted, run) = try await post(client, "/v1/runs", token: token, body: request(4, service: service))
            #expect(accepted == 201, "\(run.prettyJSON)")
        }
    }

    @Test("accepted while the controller is down, submitted in order once it answers, the joint step after the array")
    func outage() async throws {
        let fake = FakeScheduler()
        await fake.setDown(true)
        let service = try TestService(scheduler: fake, submissionGrace: 0)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let (status, run) = try await post(client, "/v1/runs", token: token, body: request(2, service: service), key: "outage-1")
            #expect(status == 201)
            #expect(run["state"] == "accepted", "\(run.prettyJSON)")
            let id = try #require(run["id"]?.stringValue)
            // A retry with the same key answers the same run, and stores nothing new.
            let (retryStatus, retry) = try await post(client, "/v1/runs", token: token, body: request(2, service: service), key: "outage-1")
            #expect(retryStatus == 200 && retry["id"]?.stringValue == id)
            await fake.setDown(false)
            _ = try await service.reconciler.cycle()
            let (_, seen) = try await post(client, "/v1/runs/\(id)", token: token)
            let arrayID = try #require(seen["steps"]?.arrayValue?[0]["native_job_id"]?.stringValue, "\(seen.prettyJSON)")
            let jointID = try #require(seen["steps"]?.arrayValue?[1]["native_job_id"]?.stringValue)
            #expect(await fake.submitCount == 2)
            #expect(await fake.specs[NativeJobID(jointID)]?.afterOK == [NativeJobID(arrayID)])
        }
    }

    @Test("the injection corpus in every cell of both cohort sheets, as JSON rows and as CSV: 422 at that cell, nothing stored")
    func hostileCells() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let cancer = try service.token(group: "cancer_genomics_lab"), sysbio = try service.token(group: "systems_biology_lab")
        let germline: [String: String] = ["sample_id": "S1", "fastq_r1": "/data/cancer_genomics_lab/a_1.fq", "fastq_r2": "/data/cancer_genomics_lab/a_2.fq"]
        let rnaseq: [String: String] = ["sample_id": "S1", "condition": "control", "batch": "b1", "fastq_1": "/data/systems_biology_lab/a.fq", "fastq_2": "/data/systems_biology_lab/b.fq"]
        let cases: [(pipeline: String, group: String, token: String, parameters: JSONValue, row: [String: String])] = [
            ("germline_cohort", "cancer_genomics_lab", cancer, ["cohort_id": "c", "reference_genome": "hg38"], germline),
            ("rnaseq_cohort", "systems_biology_lab", sysbio, ["study_id": "s", "reference": "gencode_v38"], rnaseq),
        ]
        try await service.withClient { client in
            for entry in cases {
                let columns = entry.row.keys.sorted()
                for (name, payload) in injectionCorpus(marker: service.directory + "/pwned") {
                    for column in columns {
                        var row = entry.row
                        row[column] = payload
                        let json: JSONValue = .array([.object(row.mapValues(JSONValue.string))])
                        let csvCell = { (value: String) in "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
                        let csv = columns.joined(separator: ",") + "\n" + columns.map { csvCell(row[$0]!) }.joined(separator: ",") + "\n"
                        for samples in [json, JSONValue.string(csv)] {
                            let (status, body) = try await post(client, "/v1/runs", token: entry.token, body: [
                                "pipeline_name": .string(entry.pipeline), "research_group": .string(entry.group), "parameters": entry.parameters, "samples": samples,
                            ])
                            #expect(status == 422, "\(entry.pipeline) \(column) accepted \(name): \(body.prettyJSON)")
                            let pointers = body["errors"]?.arrayValue?.compactMap { $0["pointer"]?.stringValue } ?? []
                            #expect(pointers.contains("/samples/0/\(column)") || pointers == ["/samples"], "\(entry.pipeline) \(column) \(name): \(pointers)")
                        }
                    }
                }
            }
        }
        #expect(try service.store.runs(JobStore.RunFilter()).runs.isEmpty, "nothing stored")
        #expect(await fake.submitCount == 0, "nothing submitted")
        #expect(!FileManager.default.fileExists(atPath: service.directory + "/pwned"))
    }

    @Test("a pipeline with steps is refused on /v1/jobs, with where to send it")
    func notAJob() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let (status, body) = try await post(client, "/v1/jobs", token: token, body: [
                "pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab", "parameters": ["cohort_id": "c1", "reference_genome": "hg38"],
            ])
            #expect(status == 422)
            #expect(body["errors"]?.arrayValue?.first?["pointer"] == "/pipeline_name")
            #expect(body["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("POST /v1/runs") == true)
        }
    }
}
