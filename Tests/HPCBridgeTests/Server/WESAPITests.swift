import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import HPCBridge
@testable import HPCBridgeServer
// Only these names: both generated modules declare the same ones (`Components`, `Operations`).
import enum HPCBridgeAPI.OpenAPIDocument
import enum HPCBridgeWESAPI.WESDocument

/// The GA4GH WES 1.1 interface in process, on the in-memory scheduler: every route and its errors, the
/// three request encodings, the state mapping and the same runs /v1 shows.
@Suite("HTTP: GA4GH WES 1.1")
struct WESAPITests {
    static let base = "/ga4gh/wes/v1"
    static let params: JSONValue = ["cohort_id": "c1", "reference_genome": "hg38"]

    static func samples(_ rows: Int) -> JSONValue {
        .array((0..<rows).map { index -> JSONValue in
            ["sample_id": .string("S\(index)"), "fastq_r1": .string("/data/cancer_genomics_lab/c1/S\(index)_1.fq"),
             "fastq_r2": .string("/data/cancer_genomics_lab/c1/S\(index)_2.fq")]
        })
    }

    /// `workflow_params` of a two-sample germline cohort.
    static var cohortParams: JSONValue {
        var members = params.objectValue!
        members["samples"] = samples(2)
        return .object(members)
    }

    struct Answer {
        let status: Int
        let headers: HTTPFields
        let text: String
        var json: JSONValue { (try? JSONValue.parse(text)) ?? .null }
    }

    func call(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, token: String? = nil,
              contentType: String? = nil, body: String? = nil, headers extra: HTTPFields = [:]) async throws -> Answer {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let contentType { headers[.contentType] = contentType }
        let response = try await client.execute(uri: path.hasPrefix("/v1") ? path : Self.base + path, method: method, headers: headers,
                                                body: body.map { ByteBuffer(string: $0) })
        return Answer(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    static func form(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
    }

    static let boundary = "hpcbridge-test-boundary"

    static func multipart(_ fields: [(String, String)], files: [(String, String)] = []) -> String {
        var body = ""
        for (name, value) in fields {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        for (filename, content) in files {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"workflow_attachment\"; filename=\"\(filename)\"\r\n\r\n\(content)\r\n"
        }
        return body + "--\(boundary)--\r\n"
    }

    @Test("service-info is public and describes WES 1.1.0, the catalog's pipelines and the engines; counts are the caller's group's only")
    func serviceInfo() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let token = try service.token(group: "cancer_genomics_lab")
        let other = try service.token(group: "systems_biology_lab")
        try await service.withClient { client in
            let anonymous = try await call(client, .get, "/service-info")
            #expect(anonymous.status == 200, "\(anonymous.text)")
            let info = anonymous.json
            #expect(info["type"] == ["group": "org.ga4gh", "artifact": "wes", "version": "1.1.0"])
            #expect(info["supported_wes_versions"] == ["1.1.0"])
            #expect(info["workflow_type_versions"]?["HPCBRIDGE"]?["workflow_type_version"] == ["1"])
            #expect(info["workflow_engine_versions"]?["hpcbridge"]?["workflow_engine_version"] == .array([.string(BridgeVersion.current)]))
            #expect(info["workflow_engine_versions"]?["slurm"] != nil, "the scheduler behind the service is an engine too")
            #expect(info["supported_filesystem_protocols"]?.arrayValue?.contains("file") == true)
            #expect(info["supported_filesystem_protocols"]?.arrayValue?.contains("s3") == true, "the shipped catalog takes s3:// inputs")
            let pipelines = try #require(info["tags"]?["pipelines"]?.stringValue)
            #expect(pipelines.split(separator: ",").contains("germline_cohort"))
            #expect(info["system_state_counts"] == [:], "no token: no counts")
            #expect(info["auth_instructions_url"]?.stringValue?.hasPrefix("http") == true)
            let names = info["default_workflow_engine_parameters"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            #expect(names == ["parallel_limit", "resources", "research_group"])

            let submitted = try await call(client, .post, "/runs", token: token, contentType: "application/json",
                                           body: JSONValue.object(["workflow_url": "germline_cohort", "workflow_params": Self.cohortParams]).jsonText)
            #expect(submitted.status == 200, "\(submitted.text)")
            let mine = try await call(client, .get, "/service-info", token: token)
            #expect(mine.json["system_state_counts"] == ["QUEUED": 1], "\(mine.text)")
            #expect(mine.json["default_workflow_engine_parameters"]?.arrayValue?.last?["default_value"] == "cancer_genomics_lab")
            let theirs = try await call(client, .get, "/service-info", token: other)
            #expect(theirs.json["system_state_counts"] == [:], "another group's runs are not counted")
        }
    }

    @Test("a run can be sent as JSON, URL-encoded or multipart; it is the same run /v1 shows, with its tags and the request as sent")
    func threeEncodings() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let json = try await call(client, .post, "/runs", token: token, contentType: "application/json", body: JSONValue.object([
                "workflow_url": "germline_cohort", "workflow_type": "HPCBRIDGE", "workflow_type_version": "1",
                "workflow_params": Self.cohortParams, "tags": ["project": "json"],
                "workflow_engine_parameters": ["parallel_limit": "1"],
            ]).jsonText)
            let fields: [(String, String)] = [
                ("workflow_url", "http://localhost/v1/pipelines/germline_cohort"), ("workflow_type", "HPCBRIDGE"), ("workflow_type_version", "1"),
                ("workflow_params", Self.cohortParams.jsonText), ("tags", #"{"project": "form"}"#),
            ]
            let form = try await call(client, .post, "/runs", token: token, contentType: "application/x-www-form-urlencoded", body: Self.form(fields))
            let multipart = try await call(client, .post, "/runs", token: token, contentType: "multipart/form-data; boundary=\(Self.boundary)",
                                           body: Self.multipart(fields.map { $0.0 == "tags" ? ("tags", #"{"project": "multipart"}"#) : $0 }))
            for answer in [json, form, multipart] {
                #expect(answer.status == 200, "\(answer.text)")
                #expect(answer.json.objectValue?.keys.sorted() == ["run_id"])
            }
            let ids = [json, form, multipart].compactMap { $0.json["run_id"]?.stringValue }
            #expect(Set(ids).count == 3)

            // One store, one lifecycle: /v1 shows each run.
            let v1 = try await call(client, .get, "/v1/runs/\(ids[0])", token: token)
            #expect(v1.status == 200 && v1.json["pipeline_name"] == "germline_cohort", "\(v1.text)")
            #expect(v1.json["parallel_limit"] == 1, "workflow_engine_parameters.parallel_limit is the run's")
            #expect(v1.json["tags"] == ["project": "json"], "tags are the run's, shown by both APIs")
            #expect(await fake.submitCount == 6, "each run: one array and one dependent job")

            let list = try await call(client, .get, "/runs?page_size=2", token: token)
            #expect(list.status == 200, "\(list.text)")
            let page = try #require(list.json["runs"]?.arrayValue)
            #expect(page.count == 2)
            #expect(page.first?["run_id"]?.stringValue == ids[2], "newest first")
            #expect(page.first?["tags"] == ["project": "multipart"])
            #expect(page.first?["state"] == "QUEUED")
            let next = try #require(list.json["next_page_token"]?.stringValue)
            let rest = try await call(client, .get, "/runs?page_size=2&page_token=\(next)", token: token)
            #expect(rest.json["runs"]?.arrayValue?.compactMap { $0["run_id"]?.stringValue } == [ids[0]])
            #expect(rest.json["next_page_token"] == "")

            let log = try await call(client, .get, "/runs/\(ids[1])", token: token)
            #expect(log.status == 200, "\(log.text)")
            #expect(log.json["state"] == "QUEUED")
            #expect(log.json["request"]?["tags"] == ["project": "form"])
            #expect(log.json["request"]?["workflow_params"]?["cohort_id"] == "c1")
            #expect(log.json["request"]?["workflow_url"] == "http://localhost/v1/pipelines/germline_cohort")
            #expect(log.json["task_logs_url"]?.stringValue?.hasSuffix("/ga4gh/wes/v1/runs/\(ids[1])/tasks") == true)
            #expect(log.json["task_logs_url"]?.stringValue?.hasPrefix("http://") == true, "absolute")
            let bams = try #require(log.json["outputs"]?["bam"]?.objectValue)
            #expect(bams.keys.sorted() == ["S0", "S1"])
            #expect(bams["S0"]?.stringValue?.hasPrefix("/") == true)
            #expect(log.json["outputs"]?["variants"]?.stringValue?.hasSuffix("/c1.vcf.gz") == true, "\(log.text)")

            // A run submitted through /v1 shows through WES as a WES request would have said it.
            let fromV1 = try await call(client, .post, "/v1/runs", token: token, contentType: "application/json", body: JSONValue.object([
                "pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab", "parameters": Self.params, "samples": Self.samples(1),
            ]).jsonText)
            let v1ID = try #require(fromV1.json["id"]?.stringValue)
            #expect(fromV1.json["tags"] == [:])
            let shown = try await call(client, .get, "/runs/\(v1ID)", token: token)
            #expect(shown.json["request"]?["workflow_url"] == "germline_cohort")
            #expect(shown.json["request"]?["workflow_params"]?["samples"]?.arrayValue?.count == 1)
        }
    }

    @Test("refusals are WES errors with /v1's statuses and words, at the WES request's pointers")
    func errors() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let token = try service.token(group: "cancer_genomics_lab")
        let other = try service.token(group: "systems_biology_lab")
        try await service.withClient { client in
            func expectError(_ answer: Answer, _ status: Int, containing words: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
                #expect(answer.status == status, "\(answer.text)", sourceLocation: sourceLocation)
                #expect(answer.json["status_code"] == .number(Double(status)), "\(answer.text)", sourceLocation: sourceLocation)
                #expect(answer.json["msg"]?.stringValue?.contains(words) == true, "\(answer.text)", sourceLocation: sourceLocation)
                #expect(answer.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
            }
            let noToken = try await call(client, .get, "/runs")
            expectError(noToken, 401, containing: "bearer token")
            #expect(noToken.headers[.wwwAuthenticate] != nil)
            expectError(try await call(client, .get, "/runs", token: "hb_nonsense"), 401, containing: "unknown")

            func submit(_ body: JSONValue, as caller: String = token) async throws -> Answer {
                try await call(client, .post, "/runs", token: caller, contentType: "application/json", body: body.jsonText)
            }
            let invalid = try await submit(["workflow_url": "germline_cohort", "workflow_params": ["cohort_id": "c1", "reference_genome": "hg99", "samples": Self.samples(1)]])
            expectError(invalid, 422, containing: "/workflow_params/reference_genome")
            let badSheet = try await submit(["workflow_url": "germline_cohort", "workflow_params": ["cohort_id": "c1", "reference_genome": "hg38",
                                                                                                     "samples": [["sample_id": "S0", "fastq_r1": "relative.fq", "fastq_r2": "/data/cancer_genomics_lab/x_2.fq"]]]])
            expectError(badSheet, 422, containing: "/workflow_params/samples/0/fastq_r1")
            expectError(try await submit(["workflow_url": "no_such_pipeline", "workflow_params": [:]]), 422, containing: "/workflow_url")
            expectError(try await submit(["workflow_url": "main.cwl", "workflow_type": "CWL", "workflow_params": [:]]), 422, containing: "/workflow_type")
            expectError(try await submit(["workflow_url": "germline_cohort", "workflow_params": Self.cohortParams,
                                          "workflow_engine_parameters": ["threads": "4"]]), 422, containing: "/workflow_engine_parameters/threads")
            expectError(try await submit(["workflow_url": "germline_cohort", "workflow_params": Self.cohortParams,
                                          "workflow_engine_parameters": ["research_group": "systems_biology_lab"]]), 403, containing: "only name its own group")
            let admin = try service.token(group: nil)
            expectError(try await submit(["workflow_url": "germline_cohort", "workflow_params": Self.cohortParams], as: admin), 422,
                        containing: "/workflow_engine_parameters/research_group")
            let attachment = try await call(client, .post, "/runs", token: token, contentType: "multipart/form-data; boundary=\(Self.boundary)",
                                            body: Self.multipart([("workflow_url", "main.cwl"), ("workflow_params", "{}")], files: [("main.cwl", "cwlVersion: v1.2")]))
            expectError(attachment, 422, containing: "/workflow_attachment")
            expectError(try await call(client, .post, "/runs", token: token, contentType: "text/plain", body: "x"), 415, containing: "multipart/form-data")
            expectError(try await call(client, .post, "/runs", token: token, contentType: "application/x-www-form-urlencoded",
                                       body: Self.form([("workflow_url", "germline_cohort"), ("workflow_params", "{not json")])), 422, containing: "/workflow_params")
            expectError(try await call(client, .get, "/runs?page_token=garbage", token: token), 400, containing: "page_token")
            expectError(try await call(client, .get, "/runs?page_size=0", token: token), 400, containing: "page_size")

            let created = try await submit(["workflow_url": "germline_cohort", "workflow_params": Self.cohortParams])
            let id = try #require(created.json["run_id"]?.stringValue)
            for path in ["/runs/\(id)", "/runs/\(id)/status", "/runs/\(id)/tasks", "/runs/\(id)/tasks/align.0", "/runs/\(id)/logs/stderr"] {
                expectError(try await call(client, .get, path, token: other), 404, containing: "no run")
            }
            expectError(try await call(client, .post, "/runs/\(id)/cancel", token: other), 404, containing: "no run")
            expectError(try await call(client, .get, "/runs/\(id)/tasks/nope.7", token: token), 404, containing: "no task")
            expectError(try await call(client, .get, "/runs/not-a-uuid", token: token), 404, containing: "not-a-uuid")
            let wrongMethod = try await call(client, .delete, "/runs", token: token)
            expectError(wrongMethod, 405, containing: "GET, POST")
            #expect(wrongMethod.headers[.allow] == "GET, POST")
            expectError(try await call(client, .get, "/nowhere", token: token), 404, containing: "no such path")
            // /v1 keeps its problem documents.
            let v1 = try await call(client, .get, "/v1/runs")
            #expect(v1.status == 401 && v1.headers[.contentType] == "application/problem+json")
        }
    }

    @Test("a group's quota holds through WES as through /v1: 429 with Retry-After, in WES's error format")
    func quota() async throws {
        let service = try TestService(scheduler: FakeScheduler(), quotas: (maxActive: 1000, perMinute: 1))
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let body = JSONValue.object(["workflow_url": "germline_cohort", "workflow_params": Self.cohortParams]).jsonText
            #expect(try await call(client, .post, "/runs", token: token, contentType: "application/json", body: body).status == 200)
            let over = try await call(client, .post, "/runs", token: token, contentType: "application/json", body: body)
            #expect(over.status == 429 && over.json["status_code"] == 429, "\(over.text)")
            #expect(over.json["msg"]?.stringValue?.contains("per minute") == true)
            #expect(over.headers[.retryAfter].flatMap { Int($0) }.map { $0 > 0 } == true)
            // The same group through /v1 meets the same count.
            let v1 = try await call(client, .post, "/v1/runs", token: token, contentType: "application/json", body: JSONValue.object([
                "pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab", "parameters": Self.params, "samples": Self.samples(1),
            ]).jsonText)
            #expect(v1.status == 429 && v1.headers[.contentType] == "application/problem+json")
        }
    }

    @Test("states follow the lifecycle: a failed task is EXECUTOR_ERROR with its exit code and readable logs; cancel is CANCELING, then CANCELED")
    func lifecycle() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let created = try await call(client, .post, "/runs", token: token, contentType: "application/json",
                                         body: JSONValue.object(["workflow_url": "germline_cohort", "workflow_params": Self.cohortParams]).jsonText)
            let id = try #require(created.json["run_id"]?.stringValue)
            let run = try await service.assembly.service.run(UUID(uuidString: id)!, for: .admin)
            let align = try #require(run.steps.first?.job.nativeJobID)
            let tasks = try await call(client, .get, "/runs/\(id)/tasks", token: token)
            #expect(tasks.json["task_logs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["align.0", "align.1", "joint_genotype"], "\(tasks.text)")
            let firstPage = try await call(client, .get, "/runs/\(id)/tasks?page_size=2", token: token)
            #expect(firstPage.json["next_page_token"] == "2")

            // Task 0 completes, task 1 fails with exit code 3; Slurm then cancels the joint step (KILL_INV_DEP).
            let directory = try #require(run.steps.first?.step.directory)
            try FileManager.default.createDirectory(atPath: directory + "/tasks", withIntermediateDirectories: true)
            try "bwa: truncated file S1_2.fq\n".write(toFile: directory + "/tasks/1.stderr.log", atomically: true, encoding: .utf8)
            await fake.startTask(NativeJobID(align), 0, .completed)
            await fake.startTask(NativeJobID(align), 1, .failed(.nonZeroExit(code: 3)), exit: ProcessExit(code: 3))
            let joint = try #require(run.steps.last?.job.nativeJobID)
            await fake.set(NativeJobID(joint), .failed(.dependencyNeverSatisfied))
            _ = try await service.reconciler.cycle()
            _ = try await service.reconciler.cycle()
            let status = try await call(client, .get, "/runs/\(id)/status", token: token)
            #expect(status.json["state"] == "EXECUTOR_ERROR", "\(status.text)")
            let log = try await call(client, .get, "/runs/\(id)", token: token)
            #expect(log.json["run_log"]?["exit_code"] == 3, "\(log.text)")
            let stderrURL = try #require(log.json["run_log"]?["stderr"]?.stringValue)
            #expect(stderrURL.hasSuffix("/ga4gh/wes/v1/runs/\(id)/logs/stderr"))
            let text = try await call(client, .get, "/runs/\(id)/logs/stderr", token: token)
            #expect(text.status == 200 && text.text.contains("truncated file"), "\(text.text)")
            let task = try await call(client, .get, "/runs/\(id)/tasks/align.1", token: token)
            #expect(task.json["state"] == "EXECUTOR_ERROR" && task.json["exit_code"] == 3, "\(task.text)")
            let taskText = try await call(client, .get, "/runs/\(id)/tasks/align.1/logs/stderr", token: token)
            #expect(taskText.text.contains("truncated file"))
            #expect(try await call(client, .post, "/runs/\(id)/cancel", token: token).status == 409, "an ended run cannot be cancelled")
            // A step that runs as one job has its logs in its own directory.
            let jointDirectory = try #require(run.steps.last?.step.directory)
            try FileManager.default.createDirectory(atPath: jointDirectory, withIntermediateDirectories: true)
            try "joint genotyping never started\n".write(toFile: jointDirectory + "/stderr.log", atomically: true, encoding: .utf8)
            let jointText = try await call(client, .get, "/runs/\(id)/tasks/joint_genotype/logs/stderr", token: token)
            #expect(jointText.status == 200 && jointText.text == "joint genotyping never started\n", "\(jointText.text)")

            // Another run, cancelled while queued.
            let second = try await call(client, .post, "/runs", token: token, contentType: "application/json",
                                        body: JSONValue.object(["workflow_url": "germline_cohort", "workflow_params": Self.cohortParams]).jsonText)
            let secondID = try #require(second.json["run_id"]?.stringValue)
            let cancel = try await call(client, .post, "/runs/\(secondID)/cancel", token: token)
            #expect(cancel.status == 200 && cancel.json["run_id"]?.stringValue == secondID, "\(cancel.text)")
            #expect(try await call(client, .get, "/runs/\(secondID)/status", token: token).json["state"] == "CANCELING")
            _ = try await service.reconciler.cycle()
            _ = try await service.reconciler.cycle()
            #expect(try await call(client, .get, "/runs/\(secondID)/status", token: token).json["state"] == "CANCELED")
        }
    }

    @Test("tags: stored and shown by /v1 as by WES, held to the rules both contracts state")
    func tags() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            func v1(_ tags: JSONValue) async throws -> Answer {
                try await call(client, .post, "/v1/runs", token: token, contentType: "application/json", body: JSONValue.object([
                    "pipeline_name": "germline_cohort", "research_group": "cancer_genomics_lab", "parameters": Self.params,
                    "samples": Self.samples(1), "tags": tags,
                ]).jsonText)
            }
            let created = try await v1(["project": "cohort-7", "owner": "ana"])
            #expect(created.status == 201 && created.json["tags"] == ["project": "cohort-7", "owner": "ana"], "\(created.text)")
            let id = try #require(created.json["id"]?.stringValue)
            #expect(try await call(client, .get, "/runs/\(id)", token: token).json["request"]?["tags"] == ["project": "cohort-7", "owner": "ana"])
            let refused = try await v1(["": "x", "line": "a\nb", "count": 3, String(repeating: "k", count: 129): "x"])
            #expect(refused.status == 422, "\(refused.text)")
            let pointers = Set(refused.json["errors"]?.arrayValue?.compactMap { $0["pointer"]?.stringValue } ?? [])
            #expect(pointers == ["/tags/", "/tags/line", "/tags/count", "/tags/" + String(repeating: "k", count: 129)], "\(refused.text)")
            let many = JSONValue.object(Dictionary(uniqueKeysWithValues: (0...RunTags.maximumCount).map { ("t\($0)", JSONValue.string("v")) }))
            #expect(try await v1(many).status == 422)
            let wes = try await call(client, .post, "/runs", token: token, contentType: "application/json",
                                     body: JSONValue.object(["workflow_url": "germline_cohort", "workflow_params": Self.cohortParams, "tags": ["x": "a\u{7}"]]).jsonText)
            #expect(wes.status == 422 && wes.json["msg"]?.stringValue?.contains("/tags/x") == true, "\(wes.text)")
        }
        // Both contracts state the same numbers as the code.
        let contract = try YAMLDocument(text: OpenAPIDocument.text, path: "openapi.yaml").value
        let rules = contract["components"]?["schemas"]?["RunTags"]
        #expect(rules?["maxProperties"] == .number(Double(RunTags.maximumCount)))
        #expect(rules?["propertyNames"]?["maxLength"] == .number(Double(RunTags.maximumKeyLength)))
        #expect(rules?["additionalProperties"]?["maxLength"] == .number(Double(RunTags.maximumValueLength)))
        let wesRules = try YAMLDocument(text: WESDocument.text, path: "openapi.yaml").value["components"]?["schemas"]?["RunRequest"]?["properties"]?["tags"]
        #expect(wesRules?["maxProperties"] == rules?["maxProperties"] && wesRules?["propertyNames"] == rules?["propertyNames"]
                && wesRules?["additionalProperties"] == rules?["additionalProperties"])
    }

    @Test("the state table: who failed decides between EXECUTOR_ERROR and SYSTEM_ERROR")
    func stateTable() {
        let cases: [(JobState, String?, WESState)] = [
            (.accepted, nil, .queued), (.queued, nil, .queued), (.held, nil, .queued), (.running, nil, .running),
            (.suspended, nil, .paused), (.completed, nil, .complete), (.cancelled, "cancelled", .canceled), (.lost, nil, .systemError),
            (.failed, "non_zero_exit", .executorError), (.failed, "signal", .executorError), (.failed, "out_of_memory", .executorError),
            (.failed, "timeout", .executorError), (.failed, "deadline", .executorError), (.failed, "dependency_failed", .executorError),
            (.failed, "node_failure", .systemError), (.failed, "boot_failure", .systemError), (.failed, "launch_failure", .systemError),
            (.failed, "preempted", .preempted),
        ]
        for (state, kind, expected) in cases {
            #expect(WESState.of(state, failureKind: kind) == expected, "\(state) \(kind ?? "-")")
        }
        #expect(WESState.of(.queued, failureKind: nil, cancelling: true) == .canceling)
        #expect(WESState.of(.completed, failureKind: nil, cancelling: true) == .complete)
        // A run: the step whose own failure decided it, not the one cancelled because of it.
        #expect(WESState.of(run: [(.failed, "node_failure"), (.failed, "dependency_failed")], cancelRequested: false) == .systemError)
        #expect(WESState.of(run: [(.completed, nil), (.failed, "out_of_memory")], cancelRequested: false) == .executorError)
        #expect(WESState.of(run: [(.suspended, nil), (.queued, nil)], cancelRequested: false) == .paused)
        #expect(WESState.of(run: [(.running, nil), (.queued, nil)], cancelRequested: true) == .canceling)
        #expect(WESState.of(run: [(.cancelled, "cancelled"), (.cancelled, "cancelled")], cancelRequested: true) == .canceled)
    }

    @Test("workflow_url names a pipeline by name or by its /v1 URL; planner pointers move to the WES request's fields")
    func requestParts() throws {
        #expect(WESRunRequest.pipelineName(in: "germline_cohort") == "germline_cohort")
        #expect(WESRunRequest.pipelineName(in: "https://hpc.example.org/hpcbridge/v1/pipelines/rnaseq_deseq2") == "rnaseq_deseq2")
        #expect(WESRunRequest.pipelineName(in: "/v1/pipelines/gatk_variant_calling") == "gatk_variant_calling")
        #expect(WESRunRequest.pipelineName(in: "https://example.org/workflows/main.cwl") == nil)
        #expect(WESRunRequest.pipelineName(in: "file:///tmp/x y") == nil)
        let moves: [([String], [String])] = [
            (["parameters", "fastq_r1"], ["workflow_params", "fastq_r1"]), (["samples", "3", "sample_id"], ["workflow_params", "samples", "3", "sample_id"]),
            (["resources", "align", "cpus"], ["workflow_engine_parameters", "resources", "align", "cpus"]),
            (["parallel_limit"], ["workflow_engine_parameters", "parallel_limit"]), (["pipeline_name"], ["workflow_url"]),
            (["research_group"], ["workflow_engine_parameters", "research_group"]),
        ]
        for (from, to) in moves {
            #expect(WESRunRequest.pointer(forPlannerPointer: JSONPointer(tokens: from)) == JSONPointer(tokens: to))
        }
        // A pipeline of one step takes its resources as a job does; a cohort's stay by step name.
        let catalog = TestSite.shipped.catalog
        let single = try? WESRunRequest(json: ["workflow_url": "gatk_variant_calling", "workflow_params": [:],
                                               "workflow_engine_parameters": ["resources": #"{"cpus": 1, "memory": "1G"}"#]])
        #expect(try single?.runRequest(for: .group("cancer_genomics_lab"), catalog: catalog).resources == ["main": ["cpus": 1, "memory": "1G"]])
        let cohort = try? WESRunRequest(json: ["workflow_url": "germline_cohort", "workflow_params": ["samples": []],
                                               "workflow_engine_parameters": ["resources": #"{"align": {"cpus": 2}}"#]])
        let cohortRun = try? cohort?.runRequest(for: .group("cancer_genomics_lab"), catalog: catalog)
        #expect(cohortRun?.resources == ["align": ["cpus": 2]])
        #expect(cohortRun?.samples == [], "a cohort's sheet comes out of workflow_params")
        #expect(cohortRun?.base.parameters == [:])
        #expect(WESLinks.reverseDomainID(host: "login1.hpc.example.org") == "org.example.hpc.login1.hpcbridge")
        #expect(WESLinks.reverseDomainID(host: "login1") == "local.login1.hpcbridge")
    }
}
