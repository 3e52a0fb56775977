import Foundation
@testable import HPCBridgeServer
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Testing
@testable import HPCBridge

/// The job API in process, on the in-memory scheduler: the HTTP contract, auth and isolation, quotas,
/// idempotency, cancel and the controller-outage path. The live-cluster versions are in Integration/.
@Suite("HTTP: the job API")
struct JobAPITests {
    let fake = FakeScheduler()

    static func body(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: value.jsonText) }
    static func json(_ buffer: ByteBuffer) throws -> JSONValue { try JSONValue.parse(Data(String(buffer: buffer).utf8)) }

    static func headers(_ token: String?, key: String? = nil, contentType: String = "application/json") -> HTTPFields {
        var fields: HTTPFields = [.contentType: contentType]
        if let token { fields[.authorization] = "Bearer \(token)" }
        if let key { fields[HTTPField.Name("Idempotency-Key")!] = key }
        return fields
    }

    static func request(_ example: String = "gatk_variant_calling", group: String = "cancer_genomics_lab") throws -> JSONValue {
        var document = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: TestPaths.examples + "/\(example).json")))
        if case .object(var members) = document {
            members["research_group"] = .string(group)
            document = .object(members)
        }
        return document
    }

    static func post(_ client: any TestClientProtocol, _ token: String?, _ document: JSONValue, key: String? = nil) async throws -> TestResponse {
        try await client.execute(uri: "/v1/jobs", method: .post, headers: headers(token, key: key), body: body(document))
    }

    static func get(_ client: any TestClientProtocol, _ uri: String, _ token: String?) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: headers(token))
    }

    @Test("POST /v1/jobs answers 201 with the job, queued, its defaults applied and a Location")
    func submit() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let response = try await Self.post(client, token, try Self.request())
            #expect(response.status == .created)
            let job = try Self.json(response.body)
            let id = try #require(job["id"]?.stringValue)
            #expect(response.headers[.location] == "/v1/jobs/\(id)")
            #expect(job["state"] == "queued")
            #expect(job["native_job_id"] == "1001")
            #expect(job["pipeline_version"] == "1.0.0")
            #expect(job["parameters"]?["min_base_quality"] == 10, "schema defaults are applied")
            #expect(job["script_digest"]?.stringValue?.count == 64)
            #expect(job["transitions"]?.arrayValue?.map { $0["to_state"] } == ["accepted", "queued"])
            #expect(job["exit_code"] == nil, "unknown fields are left out")
            let shown = try await Self.get(client, "/v1/jobs/\(id)", token)
            #expect(shown.status == .ok)
            #expect(try Self.json(shown.body)["queue_wait_seconds"]?.numberValue != nil)
        }
        #expect(await fake.submitCount == 1)
    }

    @Test("a submission is answered by the middleware from its one parse; with an Accept header only the generated code reads, through the generated handler, with the same job document")
    func submitBothPaths() async throws {
        #expect(SubmitRequestMiddleware.acceptsJSON(nil) && SubmitRequestMiddleware.acceptsJSON("application/json") && SubmitRequestMiddleware.acceptsJSON("text/html, */*;q=0.8"))
        #expect(SubmitRequestMiddleware.acceptsJSON("Application/JSON; charset=utf-8") && SubmitRequestMiddleware.acceptsJSON("application/*"))
        #expect(!SubmitRequestMiddleware.acceptsJSON("") && !SubmitRequestMiddleware.acceptsJSON("text/html"))
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let direct = try await Self.post(client, token, try Self.request())
            // An empty Accept is "anything" to the generated code, and not a media range this middleware reads.
            var headers = Self.headers(token)
            headers[.accept] = ""
            let generated = try await client.execute(uri: "/v1/jobs", method: .post, headers: headers, body: Self.body(try Self.request()))
            #expect(direct.status == .created && generated.status == .created)
            #expect(direct.headers[.contentType] == generated.headers[.contentType])
            var documents: [JSONValue] = []
            for response in [direct, generated] {
                let job = try Self.json(response.body)
                let id = try #require(job["id"]?.stringValue)
                #expect(response.headers[.location] == "/v1/jobs/\(id)")
                // The same document but for what differs between two jobs: ids, times, the script's digest
                // (the script names its job), the time in the queue so far.
                guard case .object(var members) = job else { continue }
                for key in ["id", "created_at", "submitted_at", "native_job_id", "transitions", "script_digest", "queue_wait_seconds"] { members[key] = nil }
                documents.append(.object(members))
                #expect(job["transitions"]?.arrayValue?.map { $0["to_state"] } == ["accepted", "queued"])
            }
            #expect(documents.count == 2 && documents[0] == documents[1])
            let shown = try await Self.get(client, direct.headers[.location]!, token)
            func withoutWait(_ response: TestResponse) throws -> JSONValue {
                guard case .object(var members) = try Self.json(response.body) else { return .null }
                members["queue_wait_seconds"] = nil
                return .object(members)
            }
            #expect(try withoutWait(shown) == withoutWait(direct), "the 201 is the document a GET answers")
        }
    }

    @Test("a member sent as null is not set (top level and resources), as the contract's optional members read; a parameter sent as null is checked against its schema")
    func nullMembers() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let request = try Self.request()
                .replacing(at: ["resources", "gpus"], with: .null)
                .replacing(at: ["description"], with: .null)
            let response = try await Self.post(client, token, request)
            #expect(response.status == .created, "\(String(buffer: response.body))")
            let job = try Self.json(response.body)
            #expect(job["resources"]?["gpus"] == nil || job["resources"]?["gpus"] == 0, "gpus: null is not a GPU request")
            let nullParameter = try Self.request().replacing(at: ["parameters", "quality_threshold"], with: .null)
            let refused = try await Self.post(client, token, nullParameter)
            #expect(refused.status == .unprocessableContent)
            let pointers = try Self.json(refused.body)["errors"]?.arrayValue?.compactMap { $0["pointer"]?.stringValue }
            #expect(pointers == ["/parameters/quality_threshold"])
        }
        #expect(await fake.submitCount == 1)
    }

    @Test("GET /v1/jobs/{id} answers from kept bytes until the job's row changes; the change shows at once; another group still gets 404")
    func keptAnswers() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab"), other = try service.token(group: "systems_biology_lab")
        try await service.withClient { client in
            let created = try Self.json(try await Self.post(client, token, try Self.request()).body)
            let id = try #require(created["id"]?.stringValue)
            let native = NativeJobID(try #require(created["native_job_id"]?.stringValue))
            await fake.set(native, .completed, exit: .success)
            _ = try await service.reconciler.cycle()
            let first = try await Self.get(client, "/v1/jobs/\(id)", token)
            let second = try await Self.get(client, "/v1/jobs/\(id)", token)
            #expect(try Self.json(first.body)["state"] == "completed")
            #expect(String(buffer: first.body) == String(buffer: second.body), "an ended job's answer is kept whole")
            #expect(second.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(try await Self.get(client, "/v1/jobs/\(id)", other).status == .notFound, "a kept answer is not shown to another group")
            // A change of the row without a state change (the reconciler records when the controller forgot it).
            _ = try service.store.update(try #require(UUID(uuidString: id)), source: "test") { $0.failureReason = "changed" }
            let third = try Self.json(try await Self.get(client, "/v1/jobs/\(id)", token).body)
            #expect(third["failure_reason"] == "changed", "the kept answer was forgotten when the row changed")
        }
    }

    @Test("a page is written from the jobs' kept bytes: each job exactly as GET /v1/jobs/{id} answers it; a changed row shows on the next page")
    func pageFromKeptBytes() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab"), other = try service.token(group: "systems_biology_lab")
        try await service.withClient { client in
            var ids: [String] = []
            for _ in 0..<3 {
                let created = try Self.json(try await Self.post(client, token, try Self.request()).body)
                ids.append(try #require(created["id"]?.stringValue))
                await fake.set(NativeJobID(try #require(created["native_job_id"]?.stringValue)), .completed, exit: .success)
            }
            _ = try await service.reconciler.cycle()
            // The first job is encoded by its GET (the generated code), the others by the page.
            let single = String(buffer: try await Self.get(client, "/v1/jobs/\(ids[0])", token).body)
            let page = try await Self.get(client, "/v1/jobs?limit=2", token)
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("application/json") == true)
            let listed = try Self.json(page.body)
            #expect(listed["jobs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [ids[2], ids[1]])
            #expect(listed["next_cursor"]?.stringValue != nil)
            let rest = try await Self.get(client, "/v1/jobs?limit=2&cursor=\(try #require(listed["next_cursor"]?.stringValue))", token)
            #expect(String(buffer: rest.body) == #"{"jobs":["# + single + "]}", "the last page: the job as its GET wrote it, no cursor")
            for id in ids[1...] {
                let shown = String(buffer: try await Self.get(client, "/v1/jobs/\(id)", token).body)
                #expect(String(buffer: page.body).contains(shown), "a job's GET answers the bytes its page wrote")
            }
            #expect(try Self.json(try await Self.get(client, "/v1/jobs", other).body)["jobs"]?.arrayValue?.isEmpty == true)
            _ = try service.store.update(try #require(UUID(uuidString: ids[2])), source: "test") { $0.failureReason = "changed" }
            let after = try Self.json(try await Self.get(client, "/v1/jobs?limit=1", token).body)
            #expect(after["jobs"]?.arrayValue?.first?["failure_reason"] == "changed", "the kept bytes were forgotten when the row changed")
        }
    }

    @Test("every validation error comes back at once as problem+json with JSON Pointers")
    func validation() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        var document = try Self.request()
        if case .object(var members) = document, case .object(var parameters) = members["parameters"]! {
            parameters["quality_threshold"] = -1
            parameters["reference_genome"] = "hg37"
            members["parameters"] = .object(parameters)
            members["colour"] = "blue"
            document = .object(members)
        }
        var withoutColour = document
        if case .object(var members) = withoutColour { members["colour"] = nil; withoutColour = .object(members) }
        let (first, fixed) = (document, withoutColour)
        try await service.withClient { client in
            let response = try await Self.post(client, token, first)
            #expect(response.status == .unprocessableContent)
            #expect(response.headers[.contentType] == "application/problem+json")
            let problem = try Self.json(response.body)
            #expect(problem["status"] == 422)
            // The envelope is checked first; fix it and the parameters are reported, all of them.
            #expect(problem["errors"]?.arrayValue?.map { $0["pointer"] } == ["/colour"])
            let second = try Self.json(try await Self.post(client, token, fixed).body)
            #expect(second["errors"]?.arrayValue?.compactMap { $0["pointer"]?.stringValue } == ["/parameters/quality_threshold", "/parameters/reference_genome"])
            #expect(second["errors"]?.arrayValue?.last?["message"]?.stringValue?.contains("did you mean \"hg38\"") == true)
        }
        #expect(try service.store.jobs(.init()).jobs.isEmpty, "nothing is stored for an invalid request")
    }

    @Test("resources are held to the contract's ResourceOverrides before the planner: types, members, numbers past Int")
    func resourceShapes() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            func pointers(_ resources: JSONValue) async throws -> [String] {
                guard case .object(var members) = try Self.request() else { return [] }
                members["resources"] = resources
                let response = try await Self.post(client, token, .object(members))
                #expect(response.status == .unprocessableContent, "resources \(resources.jsonText)")
                return try Self.json(response.body)["errors"]?.arrayValue?.compactMap { $0["pointer"]?.stringValue } ?? []
            }
            #expect(try await pointers(["memory": 32, "time_limit": ["1h"]]) == ["/resources/memory", "/resources/time_limit"])
            #expect(try await pointers(["nodes": 2]) == ["/resources/nodes"])
            #expect(try await pointers(["cpus": 1.5]) == ["/resources/cpus"])
            // Past Int's range: refused (the generated decoder refused it; the planner must not trap on it).
            #expect(try await pointers(["cpus": .number(1e300)]) == ["/resources/cpus"])
            // A member sent as null means "not set", as the generated decoder read it.
            guard case .object(var members) = try Self.request() else { return }
            members["resources"] = ["cpus": 2, "gpus": .null]
            let accepted = try await Self.post(client, token, .object(members))
            #expect(accepted.status == .created)
        }
        #expect(try service.store.jobs(.init()).jobs.count == 1, "only the valid request is stored")
    }

    @Test("a malformed body is 400, another media type 415, an oversized body 413")
    func malformed() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let broken = try await client.execute(uri: "/v1/jobs", method: .post, headers: Self.headers(token), body: ByteBuffer(string: "{\"pipeline_name\": "))
            #expect(broken.status == .badRequest)
            let text = try await client.execute(uri: "/v1/jobs", method: .post, headers: Self.headers(token, contentType: "text/plain"),
                                                body: Self.body(try Self.request()))
            #expect(text.status == .unsupportedMediaType)
            let huge = "{\"description\": \"" + String(repeating: "x", count: 2 << 20) + "\"}"
            let large = try await client.execute(uri: "/v1/jobs", method: .post, headers: Self.headers(token), body: ByteBuffer(string: huge))
            #expect(large.status == .contentTooLarge)
            let typed = try await Self.post(client, token, ["pipeline_name": "gatk_variant_calling", "research_group": "cancer_genomics_lab",
                                                            "parameters": [:], "resources": ["cpus": "eight"]])
            #expect(typed.status == .unprocessableContent)
            #expect(try Self.json(typed.body)["errors"]?.arrayValue?.first?["pointer"] == "/resources/cpus")
        }
    }

    @Test("no token, a malformed one or a revoked one is 401 with WWW-Authenticate; tokens are never logged")
    func authentication() async throws {
        let service = try TestService(scheduler: fake)
        let tokens = APITokens(store: service.store)
        let (revoked, entry) = try tokens.create(group: "cancer_genomics_lab", label: nil)
        try tokens.revoke(id: entry.id)
        let good = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            for token in [nil, "hb_nothing", revoked, good + "x"] as [String?] {
                let response = try await Self.get(client, "/v1/jobs", token)
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"hpcbridge\"")
                #expect(try Self.json(response.body)["status"] == 401)
            }
            #expect(try await Self.post(client, good, try Self.request()).status == .created)
            #expect(try await Self.get(client, "/v1/pipelines", nil).status == .ok, "the catalog is public")
            #expect(try await Self.get(client, "/healthz", nil).status == .ok)
        }
        let logged = service.logs.all.joined(separator: "\n")
        #expect(!logged.isEmpty)
        for secret in [good, revoked] {
            #expect(!logged.contains(String(secret.split(separator: "_", maxSplits: 2)[2])), "a token secret reached the log")
        }
    }

    @Test("tokens the config declares by SHA-256 act for their group or as admin; anything else is 401")
    func configuredTokens() async throws {
        let groupToken = "site-secret-store-token-for-cancer-genomics-0001"
        let adminToken = "site-secret-store-admin-token-000000000000000001"
        let service = try TestService(scheduler: fake) { config in
            config.replacingOccurrences(of: "templates: ", with: "admin_token_sha256: [\(APITokens.configHash(of: adminToken))]\ntemplates: ")
                .replacingOccurrences(of: "    allowed_pipelines: [gatk_variant_calling, germline_cohort, rnaseq_deseq2, rnaseq_cohort]\n",
                                      with: "    allowed_pipelines: [gatk_variant_calling, germline_cohort, rnaseq_deseq2, rnaseq_cohort]\n    token_sha256: [\(APITokens.configHash(of: groupToken))]\n")
        }
        #expect(service.site.config.groups["cancer_genomics_lab"]?.tokenHashes.count == 1)
        #expect(service.site.config.adminTokenHashes.count == 1)
        try await service.withClient { client in
            let created = try await Self.post(client, groupToken, try Self.request())
            #expect(created.status == .created)
            let id = try #require(try Self.json(created.body)["id"]?.stringValue)
            #expect(try await Self.post(client, groupToken, try Self.request("rnaseq_deseq2", group: "systems_biology_lab")).status == .forbidden)
            #expect(try await Self.get(client, "/v1/jobs/\(id)", adminToken).status == .ok)
            #expect(try await Self.get(client, "/v1/jobs", String(groupToken.dropLast()) + "2").status == .unauthorized)
        }
    }

    @Test("a group sees and cancels only its own jobs: another group's job is 404, naming another group 403, its data 422")
    func isolation() async throws {
        let service = try TestService(scheduler: fake)
        let cancer = try service.token(group: "cancer_genomics_lab")
        let systems = try service.token(group: "systems_biology_lab")
        let admin = try service.token(group: nil)
        try await service.withClient { client in
            let created = try Self.json(try await Self.post(client, cancer, try Self.request()).body)
            let id = try #require(created["id"]?.stringValue)
            #expect(try await Self.get(client, "/v1/jobs/\(id)", systems).status == .notFound)
            #expect(try await Self.get(client, "/v1/jobs/\(id)/logs", systems).status == .notFound)
            let cancel = try await client.execute(uri: "/v1/jobs/\(id)/cancel", method: .post, headers: Self.headers(systems))
            #expect(cancel.status == .notFound)
            let unknown = try await Self.get(client, "/v1/jobs/\(UUID().uuidString)", systems)
            #expect(unknown.status == .notFound, "another group's job answers like a job that does not exist")
            let listed = try Self.json(try await Self.get(client, "/v1/jobs", systems).body)
            #expect(listed["jobs"]?.arrayValue?.isEmpty == true)
            #expect(try await Self.get(client, "/v1/jobs?research_group=cancer_genomics_lab", systems).status == .forbidden)
            let foreign = try await Self.post(client, systems, try Self.request("rnaseq_deseq2", group: "cancer_genomics_lab"))
            #expect(foreign.status == .forbidden)
            // Naming another group's data is refused like any invalid parameter, at its pointer.
            let borrowed = try Self.request("rnaseq_deseq2", group: "systems_biology_lab")
                .replacing(at: ["parameters", "fastq_files"], with: ["/data/cancer_genomics_lab/P0042/P0042_normal_R1.fastq.gz"])
            let refused = try await Self.post(client, systems, borrowed)
            #expect(refused.status == .unprocessableContent)
            let problem = try Self.json(refused.body)
            #expect(problem["errors"]?.arrayValue?.compactMap { $0["pointer"]?.stringValue } == ["/parameters/fastq_files/0"])
            #expect(problem["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("outside this research group's input roots (/data/systems_biology_lab)") == true)
            #expect(try await Self.get(client, "/v1/jobs/\(id)", admin).status == .ok, "an admin token sees every group")
            let adminList = try Self.json(try await Self.get(client, "/v1/jobs?research_group=cancer_genomics_lab", admin).body)
            #expect(adminList["jobs"]?.arrayValue?.count == 1)
        }
        #expect(try service.store.jobs(.init()).jobs.count == 1)
    }

    @Test("a retry with the same Idempotency-Key returns the first job (200); another body with it is 409")
    func idempotency() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let first = try await Self.post(client, token, try Self.request(), key: "run-42")
            #expect(first.status == .created)
            let again = try await Self.post(client, token, try Self.request(), key: "run-42")
            #expect(again.status == .ok)
            #expect(try Self.json(again.body)["id"] == (try Self.json(first.body))["id"])
            var other = try Self.request()
            if case .object(var members) = other { members["description"] = "something else"; other = .object(members) }
            #expect(try await Self.post(client, token, other, key: "run-42").status == .conflict)
        }
        #expect(await fake.submitCount == 1)
    }

    @Test("over a quota the answer is 429 with Retry-After; retries of an accepted request are not counted; racing requests cannot overshoot")
    func quotas() async throws {
        let service = try TestService(scheduler: fake, quotas: (maxActive: 3, perMinute: 2))
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            #expect(try await Self.post(client, token, try Self.request(), key: "a").status == .created)
            #expect(try await Self.post(client, token, try Self.request(), key: "b").status == .created)
            #expect(try await Self.post(client, token, try Self.request(), key: "a").status == .ok)
            let limited = try await Self.post(client, token, try Self.request(), key: "c")
            #expect(limited.status == .tooManyRequests)
            let wait = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...60).contains(wait))
            #expect(try Self.json(limited.body)["detail"]?.stringValue?.contains("2 jobs per minute") == true)
        }
        // Active-jobs quota: three unfinished jobs already, the fourth is refused whatever the rate.
        let active = try TestService(scheduler: fake, quotas: (maxActive: 2, perMinute: 100))
        let token2 = try active.token(group: "cancer_genomics_lab")
        try await active.withClient { client in
            for _ in 0..<2 { #expect(try await Self.post(client, token2, try Self.request()).status == .created) }
            let refused = try await Self.post(client, token2, try Self.request())
            #expect(refused.status == .tooManyRequests)
            #expect(try Self.json(refused.body)["detail"]?.stringValue?.contains("max_active_jobs") == true)
        }
        // Concurrent submissions cannot overshoot it: the count is taken where the job is inserted.
        let raced = try TestService(scheduler: fake, quotas: (maxActive: 5, perMinute: 1000))
        let token3 = try raced.token(group: "cancer_genomics_lab")
        let document = try Self.request()
        try await raced.withClient { client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<24 { group.addTask { try await Self.post(client, token3, document).status } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 5, "\(statuses)")
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 19)
        }
        #expect(try raced.store.activeJobCount(group: "cancer_genomics_lab") == 5)
    }

    @Test("with the controller down POST still answers 201 (accepted); the job is submitted once it is back, never failed")
    func outage() async throws {
        let service = try TestService(scheduler: fake, submissionGrace: 0)
        let token = try service.token(group: "cancer_genomics_lab")
        await fake.setDown(true)
        await #expect(throws: SchedulerError.self) { try await service.reconciler.cycle() }
        try await service.withClient { client in
            let response = try await Self.post(client, token, try Self.request())
            #expect(response.status == .created)
            #expect(try Self.json(response.body)["state"] == "accepted")
            let ready = try await Self.get(client, "/readyz", nil)
            #expect(ready.status == .serviceUnavailable)
            #expect(try Self.json(ready.body)["checks"]?["cluster:dev"]?["ok"] == false)
            #expect(try Self.json(ready.body)["checks"]?["store"]?["ok"] == true)
        }
        await #expect(throws: SchedulerError.self) { try await service.reconciler.cycle() }
        #expect(try service.store.jobs(.init()).jobs.map(\.state) == [.accepted])
        await fake.setDown(false)
        let report = try await service.reconciler.cycle()
        #expect(report.submitted == 1)
        #expect(try service.store.jobs(.init()).jobs.map(\.state) == [.queued])
        #expect(await fake.submitCount == 1)
        try await service.withClient { client in
            let ready = try await Self.get(client, "/readyz", nil)
            #expect(ready.status == .ok)
        }
    }

    @Test("cancel: an unsubmitted job is cancelled at once, a queued one through the scheduler, a finished one is 409")
    func cancel() async throws {
        let service = try TestService(scheduler: fake, submissionGrace: 0)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let queued = try Self.json(try await Self.post(client, token, try Self.request()).body)
            let queuedID = try #require(queued["id"]?.stringValue)
            let requested = try await client.execute(uri: "/v1/jobs/\(queuedID)/cancel", method: .post, headers: Self.headers(token))
            #expect(requested.status == .accepted)
            try await service.reconciler.cycle()
            let cancelled = try Self.json(try await Self.get(client, "/v1/jobs/\(queuedID)", token).body)
            #expect(cancelled["state"] == "cancelled")
            #expect(cancelled["failure_kind"] == "cancelled")
            let again = try await client.execute(uri: "/v1/jobs/\(queuedID)/cancel", method: .post, headers: Self.headers(token))
            #expect(again.status == .conflict)

            // A submitted job while the controller does not answer: 503 with Retry-After, nothing changed.
            let waiting = try Self.json(try await Self.post(client, token, try Self.request()).body)
            let waitingID = try #require(waiting["id"]?.stringValue)
            await fake.setDown(true)
            let unanswered = try await client.execute(uri: "/v1/jobs/\(waitingID)/cancel", method: .post, headers: Self.headers(token))
            #expect(unanswered.status == .serviceUnavailable)
            #expect(unanswered.headers[.retryAfter] == "30")
            #expect(try Self.json(try await Self.get(client, "/v1/jobs/\(waitingID)", token).body)["state"] == "queued")
            await fake.setDown(false)
            #expect(try await client.execute(uri: "/v1/jobs/\(waitingID)/cancel", method: .post, headers: Self.headers(token)).status == .accepted)

            await fake.setDown(true)
            _ = try? await service.reconciler.cycle()
            let accepted = try Self.json(try await Self.post(client, token, try Self.request()).body)
            let acceptedID = try #require(accepted["id"]?.stringValue)
            let early = try Self.json(try await client.execute(uri: "/v1/jobs/\(acceptedID)/cancel", method: .post, headers: Self.headers(token)).body)
            #expect(early["state"] == "cancelled")
            await fake.setDown(false)
            try await service.reconciler.cycle()
            #expect(await fake.submitCount == 2, "a job cancelled before submission is never submitted (the two before it were)")
        }
    }

    @Test("the cursor pages through a filtered listing without gaps or repeats")
    func pagination() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            var created: [String] = []
            for _ in 0..<7 {
                created.append(try #require(try Self.json(try await Self.post(client, token, try Self.request()).body)["id"]?.stringValue))
            }
            var seen: [String] = []
            var uri = "/v1/jobs?limit=3&state=queued&pipeline=gatk_variant_calling"
            while true {
                let page = try Self.json(try await Self.get(client, uri, token).body)
                seen += page["jobs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                guard let next = page["next_cursor"]?.stringValue else { break }
                uri = "/v1/jobs?limit=3&state=queued&pipeline=gatk_variant_calling&cursor=\(next)"
            }
            #expect(seen == created.reversed())
            let none = try Self.json(try await Self.get(client, "/v1/jobs?state=running", token).body)
            #expect(none["jobs"]?.arrayValue?.isEmpty == true)
            #expect(try await Self.get(client, "/v1/jobs?cursor=garbage", token).status == .badRequest)
            #expect(try await Self.get(client, "/v1/jobs?limit=0", token).status == .badRequest)
        }
    }

    @Test("GET /v1/jobs/{id}/logs returns the tail of stdout and stderr")
    func logs() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let job = try Self.json(try await Self.post(client, token, try Self.request()).body)
            let id = try #require(job["id"]?.stringValue)
            let empty = try Self.json(try await Self.get(client, "/v1/jobs/\(id)/logs", token).body)
            #expect(empty["stdout"] == "")
            let uuid = try #require(UUID(uuidString: id))
            let stored = try #require(try service.store.job(uuid))
            let directory = try JobSubmitter.spec(of: stored).workingDirectory
            try TestPaths.write((1...5).map { "line \($0)" }.joined(separator: "\n") + "\n", to: directory + "/stdout.log")
            try TestPaths.write("warning\n", to: directory + "/stderr.log")
            let tail = try Self.json(try await Self.get(client, "/v1/jobs/\(id)/logs?lines=2", token).body)
            #expect(tail["stdout"] == "line 4\nline 5\n")
            #expect(tail["stderr"] == "warning\n")
            #expect(tail["truncated"] == true)
        }
    }

    @Test("the operations the middleware lets through without a token are exactly those openapi.yaml marks security: []")
    func publicOperations() throws {
        let document = try YAMLDocument(contentsOf: TestPaths.root + "/Sources/HPCBridgeAPI/openapi.yaml")
        var open: Set<String> = []
        for (_, item) in document.value["paths"]?.objectValue ?? [:] {
            for (_, operation) in item.objectValue ?? [:] {
                if operation["security"] == .array([]), let id = operation["operationId"]?.stringValue { open.insert(id) }
            }
        }
        #expect(open == BearerAuthMiddleware.publicV1Operations)
        #expect(open.count == 6)
    }
}
