import Foundation
import Synchronization
import Testing
@testable import HPCBridge

/// Issue 7, part 5: hostile input through the API of a real `serve` process on the live cluster. Every
/// answer must be a 4xx with a problem document (never a 5xx, never a hang), the service must stay up,
/// and no injected command may ever run: accepted values become real Slurm jobs, and each payload would
/// create its own marker file if the shell ever executed it.
@Suite("Reliability: hostile input", .enabled(if: LiveCluster.enabled), .serialized)
struct ReliabilityHostileInputTests {
    /// Short limits so slow-client cases finish quickly; production defaults are 60 s and 30 s.
    static let timeouts: [(String, String)] = [
        ("http: {idle_timeout_seconds: 60, body_timeout_seconds: 30}", "http: {idle_timeout_seconds: 2, body_timeout_seconds: 2}"),
    ]

    func started(_ label: String, edits: [(String, String)] = []) async throws -> ServeProcess {
        try LiveCluster.check()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory(label), edits: Self.timeouts + edits)
        try await service.start()
        return service
    }

    static func request(_ bytes: [UInt8], method: String = "POST", path: String = "/v1/jobs", token: String?, contentType: String? = "application/json") -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(bytes.count)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        return Array((head + "\r\n").utf8) + bytes
    }

    @Test("injection corpus in every string parameter, the description and the job name, submitted as real jobs: no injected command runs")
    func injectionAsRealJobs() async throws {
        let service = try await started("hostile-injection")
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let systems = try service.token(group: "systems_biology_lab")
        let markers = try TestPaths.scratchDirectory("injection-markers")
        var tried = 0, accepted: [String] = [], refused = 0, serverErrors = 0
        let corpusSize = injectionCorpus(marker: "/m").count
        let payloads = ReliabilityRun.full ? Array(0..<corpusSize) : Array(0..<corpusSize).filter { $0 % 3 == 0 }
        for index in payloads {
            let marker = markers + "/marker-\(index)"
            let (name, value) = injectionCorpus(marker: marker)[index]
            // Every string the two shipped pipelines take from a request, and the free-text description.
            var requests: [(label: String, token: String, body: JSONValue)] = []
            func gatk(_ change: (inout [String: JSONValue]) -> Void, description: String = "injection test") -> JSONValue {
                var parameters: [String: JSONValue] = ["sample_id": "S1", "reference_genome": "hg38", "fastq_r1": "/data/cancer_genomics_lab/missing/in_R1.fastq.gz",
                                                       "fastq_r2": "/data/cancer_genomics_lab/missing/in_R2.fastq.gz", "caller": "bcftools"]
                change(&parameters)
                return ["pipeline_name": "gatk_variant_calling", "research_group": "cancer_genomics_lab", "description": .string(description),
                        "parameters": .object(parameters), "resources": ["cpus": 1, "memory": "1G", "time_limit": "00:05:00"]]
            }
            requests.append(("description", token, gatk({ _ in }, description: value)))
            requests.append(("sample_id (job name)", token, gatk { $0["sample_id"] = .string(value) }))
            requests.append(("fastq_r1", token, gatk { $0["fastq_r1"] = .string("/data/cancer_genomics_lab/missing/" + value) }))
            requests.append(("reference_genome", token, gatk { $0["reference_genome"] = .string(value) }))
            requests.append(("caller", token, gatk { $0["caller"] = .string(value) }))
            var rnaseq = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: TestPaths.examples + "/rnaseq_deseq2.json")))
            if case .object(var members) = rnaseq, case .object(var parameters)? = members["parameters"] {
                parameters["adapter_sequence"] = .string(value)
                members["parameters"] = .object(parameters)
                members["resources"] = ["cpus": 1, "memory": "1G", "time_limit": "00:05:00"]
                rnaseq = .object(members)
            }
            requests.append(("rnaseq adapter_sequence", systems, rnaseq))
            for (label, token, body) in requests {
                tried += 1
                let answer = try await service.request("POST", "/v1/jobs", token: token, body: body)
                switch answer.status {
                case 201: accepted.append(try #require(answer.body?["id"]?.stringValue))
                case 400, 413, 422: refused += 1
                default:
                    if answer.status >= 500 { serverErrors += 1 }
                    Issue.record("\(name) in \(label): \(answer.status) \(answer.body?.jsonText ?? "")")
                }
            }
        }
        #expect(!accepted.isEmpty, "some payloads (at least the descriptions) become real jobs")
        for id in accepted {
            let job = try await service.waitForEnd(id, token: token)
            let state = job["state"]?.stringValue ?? "?"
            if state == "?" || job["research_group"]?.stringValue == "systems_biology_lab" {
                _ = try await service.waitForEnd(id, token: systems)
            }
            #expect(["completed", "failed"].contains(state) || job.objectValue == nil, "job \(id) ended \(state)")
        }
        let ran = try FileManager.default.contentsOfDirectory(atPath: markers)
        #expect(ran.isEmpty, "injected commands ran: \(ran)")
        #expect(serverErrors == 0)
        ReliabilityRun.record("hostile-injection", ["payloads": .number(Double(payloads.count)), "requests": .number(Double(tried)),
                                                    "accepted_as_real_jobs": .number(Double(accepted.count)), "refused_4xx": .number(Double(refused)),
                                                    "server_errors": .number(Double(serverErrors)), "markers_created": .number(Double(ran.count))])
    }

    @Test("oversized, deeply nested, huge, non-UTF-8 and mistyped bodies: a 4xx problem each, never a 5xx, and the service stays up")
    func malformedBodies() async throws {
        let service = try await started("hostile-bodies")
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let example = try Data(contentsOf: URL(fileURLWithPath: TestPaths.examples + "/gatk_variant_calling.json"))
        func withParameters(_ raw: String) -> [UInt8] {
            Array("{\"pipeline_name\":\"gatk_variant_calling\",\"research_group\":\"cancer_genomics_lab\",\"parameters\":\(raw)}".utf8)
        }
        let cases: [(name: String, bytes: [UInt8], contentType: String?, expected: Set<Int>)] = [
            ("over the 1 MiB limit", Array(repeating: UInt8(ascii: " "), count: (1 << 20) + 1) + Array(example), "application/json", [413]),
            ("16 MiB", Array(repeating: UInt8(ascii: "["), count: 16 << 20), "application/json", [413]),
            ("nested 100,000 deep", withParameters(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)), "application/json", [400]),
            ("nested 400 deep", withParameters("{\"sample_id\":" + String(repeating: "[", count: 400) + String(repeating: "]", count: 400) + "}"), "application/json", [400, 422]),
            ("an array of 200,000 numbers", withParameters("{\"sample_id\":[" + Array(repeating: "1", count: 200_000).joined(separator: ",") + "]}"), "application/json", [422]),
            ("an object with 50,000 keys", withParameters("{" + (0..<50_000).map { "\"k\($0)\":1" }.joined(separator: ",") + "}"), "application/json", [422]),
            ("invalid UTF-8 in a string", withParameters("{\"sample_id\":\"S\u{1}") .dropLast(3) + [0xff, 0xfe, 0x22, 0x7d, 0x7d], "application/json", [400]),
            ("a lone surrogate escape", withParameters("{\"sample_id\":\"\\ud800\"}"), "application/json", [400, 422]),
            ("a NUL escape", withParameters("{\"sample_id\":\"S\\u0000\"}"), "application/json", [422]),
            ("a number too large for a double", withParameters("{\"quality_threshold\":1e999}"), "application/json", [400, 422]),
            ("duplicate keys", Array("{\"pipeline_name\":\"x\",\"pipeline_name\":\"gatk_variant_calling\"}".utf8), "application/json", [400, 422]),
            ("a top-level array", Array("[]".utf8), "application/json", [422]),
            ("a top-level string", Array("\"job\"".utf8), "application/json", [422]),
            ("JSON null", Array("null".utf8), "application/json", [422]),
            ("empty", [], "application/json", [400]),
            ("truncated", Array(example.prefix(40)), "application/json", [400]),
            ("text/plain", Array(example), "text/plain", [415]),
            ("form-encoded", Array("pipeline_name=gatk_variant_calling".utf8), "application/x-www-form-urlencoded", [415]),
            ("multipart", Array("--x\r\n\r\n{}\r\n--x--".utf8), "multipart/form-data; boundary=x", [415]),
            ("no Content-Type", Array(example), nil, [415]),
            ("XML", Array("<job/>".utf8), "application/xml", [415]),
        ]
        var serverErrors = 0
        for (name, bytes, contentType, expected) in cases {
            let answer = try RawConnection.exchange(port: service.port, Self.request(bytes, token: token, contentType: contentType), seconds: 30)
            if (answer.status ?? 500) >= 500 { serverErrors += 1 }
            #expect(answer.status.map(expected.contains) == true, "\(name): \(answer.status.map(String.init) ?? "no answer") \(answer.text.suffix(400))")
            #expect(answer.text.contains("application/problem+json"), "\(name): the refusal is a problem document")
            #expect(try await service.request("GET", "/healthz").status == 200, "\(name): the service is still up")
        }
        #expect(serverErrors == 0)
        ReliabilityRun.record("hostile-bodies", ["inputs": .number(Double(cases.count)), "server_errors": .number(Double(serverErrors))])
    }

    @Test("idle connections, headers sent a byte at a time and trickling bodies are cut off; other clients are served meanwhile")
    func slowClients() async throws {
        let service = try await started("hostile-slow")
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        // 50 connections that never send anything: each is closed after the 2 s idle timeout.
        let idle = try (0..<50).map { _ in try RawConnection(port: service.port) }
        #expect(try await service.request("GET", "/healthz").status == 200, "served while 50 idle connections are open")
        let clock = ContinuousClock()
        let start = clock.now
        let idleResults = idle.map { $0.receive(for: 10) }
        let allClosed = idleResults.allSatisfy { $0.closed }
        #expect(allClosed, "idle connections still open after 10 s")
        #expect(clock.now - start < .seconds(8))

        // Headers a byte every 300 ms: the request never completes, so the connection counts as idle.
        let slowHeaders = try RawConnection(port: service.port)
        var sent = 0
        let slowStart = Date()
        for byte in "GET /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8 {
            guard slowHeaders.send([byte]) else { break }
            sent += 1
            try await Task.sleep(for: .milliseconds(300))
            if Date().timeIntervalSince(slowStart) > 15 { break }
        }
        let cutOff = slowHeaders.receive(for: 5)
        #expect(cutOff.closed && Date().timeIntervalSince(slowStart) < 15, "a slow-header client was not cut off (sent \(sent) bytes)")

        // A body that trickles: 408 after the 2 s body timeout, and the connection is closed.
        let trickle = try RawConnection(port: service.port)
        trickle.send("POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{")
        let trickleStart = Date()
        var answer: (bytes: [UInt8], closed: Bool) = ([], false)
        while Date().timeIntervalSince(trickleStart) < 20 {
            guard trickle.send(" ") else { break }
            answer = trickle.receive(for: 0.5)
            if !answer.bytes.isEmpty || answer.closed { break }
        }
        #expect(RawConnection.status(of: answer.bytes) == 408, "trickling body: \(String(decoding: answer.bytes, as: UTF8.self))")
        #expect(Date().timeIntervalSince(trickleStart) < 10)
        #expect(try await service.request("GET", "/healthz").status == 200)
        ReliabilityRun.record("hostile-slow-clients", ["idle_connections_closed": .number(Double(idleResults.filter { $0.closed }.count)),
                                                       "slow_header_bytes_before_cut": .number(Double(sent)),
                                                       "trickle_answered_408_after_seconds": .number((Date().timeIntervalSince(trickleStart) * 10).rounded() / 10)])
    }

    @Test("path traversal in URL paths, the logs endpoint and path parameters never reaches a file")
    func pathTraversal() async throws {
        let service = try await started("hostile-paths")
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let created = try await service.request("POST", "/v1/jobs", token: token, body: ReliabilityCrashTests.request(0, run: "paths"))
        let id = try #require(created.body?["id"]?.stringValue)
        let paths = [
            "/v1/pipelines/..%2F..%2F..%2Fetc%2Fpasswd", "/v1/pipelines/../../../etc/passwd", "/v1/pipelines/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/v1/pipelines/..%252F..%252Fetc%252Fpasswd", "/v1/pipelines/gatk_variant_calling%00.yaml", "/v1/pipelines/%2Fetc%2Fpasswd",
            "/v1/jobs/..%2F..%2Fetc%2Fpasswd/logs", "/v1/jobs/../../etc/passwd/logs", "/v1/jobs/%2e%2e/logs", "/v1/jobs/\(id)/..%2F..%2F..%2Fetc%2Fpasswd",
            "/v1/jobs/\(id)/logs/../../../../etc/passwd", "/v1/jobs/\(id)/logs?lines=-1", "/v1/jobs/\(id)/logs?lines=99999999999999999999",
            "/v1/jobs/\(id)/logs?lines=../../etc/passwd", "/openapi.yaml/../../etc/passwd", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
            "/v1/events?job_id=../../etc/passwd", "/v1/jobs?pipeline=../../etc/passwd", "/v1/jobs?cursor=../../etc/passwd",
            "//etc/passwd", "/v1//jobs", "/v1/jobs/\(id)%00/logs",
        ]
        var serverErrors = 0
        for path in paths {
            let answer = try RawConnection.exchange(port: service.port, Self.request([], method: "GET", path: path, token: token, contentType: nil))
            let status = answer.status ?? 500
            if status >= 500 { serverErrors += 1 }
            // A filter nobody matches is an empty page; `//` is the router folding an empty segment.
            let harmless = status == 200 && (path.hasPrefix("/v1/jobs?") || path == "/v1//jobs")
            #expect((400..<500).contains(status) || harmless, "\(path): \(status) \(answer.text.suffix(300))")
            #expect(!answer.text.contains("root:x:0:0") && !answer.text.contains("root:*:"), "\(path) returned a system file")
        }
        // Path parameters: `..` segments are refused before anything is rendered; so are relative paths,
        // another group's data and a symbolic link out of the group's input roots.
        try FileManager.default.createDirectory(atPath: service.root + "/reads", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: service.root + "/reads/escape")
        try FileManager.default.createSymbolicLink(atPath: service.root + "/reads/escape", withDestinationPath: "/etc")
        let values = ["/data/../etc/shadow", "../../etc/shadow", "/data/./x", "/data//x", "data/x",
                      "/data/systems_biology_lab/liver/liver_m17_R1.fastq.gz", service.root + "/reads/escape/shadow.fq"]
        for value in values {
            let body = ReliabilityCrashTests.request(1, run: "paths").replacing(at: ["parameters", "fastq_r1"], with: .string(value))
            let answer = try await service.request("POST", "/v1/jobs", token: token, body: body)
            #expect(answer.status == 422, "fastq_r1 \(value): \(answer.status)")
            #expect(answer.body?["errors"]?.arrayValue?.contains { $0["pointer"] == "/parameters/fastq_r1" } == true, "\(answer.body?.jsonText ?? "")")
        }
        #expect(serverErrors == 0)
        ReliabilityRun.record("hostile-paths", ["url_paths": .number(Double(paths.count)), "path_parameters": .number(Double(values.count)), "server_errors": .number(Double(serverErrors))])
    }
}

/// Issue 7, part 5, and issue 15, item 5: schemathesis (property-based API testing from the contract)
/// against a live service, every check and every phase; and the event stream, which schemathesis cannot
/// read (it never ends), checked against the contract's event schema by hand.
@Suite("Reliability: contract fuzzing with schemathesis", .enabled(if: LiveCluster.enabled), .serialized)
struct ReliabilitySchemathesisTests {
    static let binary = TestPaths.root + "/.build/reliability-tools/bin/schemathesis"

    struct Missing: Error, CustomStringConvertible {
        var description: String { "schemathesis is not installed in .build/reliability-tools; run `make reliability-tools`" }
    }

    /// The served contract minus what never ends on its own: the event stream and followed logs (the
    /// event test below, the auth matrix and the load suite cover those). Written as JSON, which
    /// schemathesis reads as well as YAML.
    static func finiteContract(_ served: String) throws -> JSONValue {
        guard case .object(var document) = try YAMLDocument(text: served, path: "openapi.yaml").value,
              case .object(var paths)? = document["paths"], case .object(var logs)? = paths["/v1/jobs/{id}/logs"],
              case .object(var get)? = logs["get"], case .array(let parameters)? = get["parameters"] else {
            throw SchedulerError(.rejected, operation: "openapi.yaml", detail: "the served contract lacks /v1/jobs/{id}/logs")
        }
        paths["/v1/events"] = nil
        get["parameters"] = .array(parameters.filter { $0["name"] != "follow" })
        logs["get"] = .object(get)
        paths["/v1/jobs/{id}/logs"] = .object(logs)
        document["paths"] = .object(paths)
        return .object(document)
    }

    @Test("schemathesis against the served /openapi.yaml, --checks all and all four phases, with group and admin tokens: nothing found")
    func fuzzContract() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else { throw Missing() }
        try ReliabilityRun.makeQueueOnlyPartition()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("schemathesis"), edits: ReliabilityRun.queueOnlyEdits)
        try await service.start()
        defer { service.stop() }
        let served = try await service.text("/openapi.yaml")
        // The served contract carries the site's pipelines, so the generated submissions are typed.
        #expect(served.contains("Parameters_gatk_variant_calling") && served.contains("RunRequest_germline_cohort"))
        let contract = try Self.finiteContract(served)
        #expect(contract["paths"]?["/v1/events"] == nil && !contract.jsonText.contains("\"follow\""))
        let contractPath = service.root + "/openapi-finite.json"
        try TestPaths.write(contract.prettyJSON, to: contractPath)

        // One rule no JSON Schema states: each sample_id once in a sheet (unique by a member, not by the
        // whole row). A generated sheet that repeats one gets the documented 422, so for submitRun alone
        // a 422 also counts as an answer to schema-valid data; every other check stays as shipped.
        let configPath = service.root + "/schemathesis.toml"
        try TestPaths.write("""
            [[operations]]
            include-operation-id = "submitRun"
            checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

            """, to: configPath)
        var figures: [String: JSONValue] = [:]
        let admin = try service.token(group: nil)
        for (label, group) in [("group", Optional("cancer_genomics_lab")), ("admin", nil)] {
            let token = group == nil ? admin : try service.token(group: group)
            let examples = ReliabilityRun.size(fast: 10, full: 60)
            let started = Date()
            let result = try await run(Self.binary, [
                "--no-color", "--config-file", configPath, "run", contractPath, "--url", "http://127.0.0.1:\(service.port)",
                "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
                "--header", "Authorization: Bearer \(token)", "--max-examples", "\(examples)", "--seed", "20261125",
                // One worker: with two threads the coverage phase fails inside the tool (hypothesis calls
                // `ast.parse` from both, and CPython 3.11's parser is not thread-safe: "AST constructor
                // recursion depth mismatch", then a KeyError in its cache).
                "--request-timeout", "20", "--workers", "1", "--generation-database", "none",
            ], directory: service.root)
            let output = result.stdout + result.stderr
            #expect(result.status == 0, "schemathesis (\(label) token) found problems:\n\(output.suffix(8000))")
            // "Test cases:" is followed by a line such as "126 generated, 126 passed".
            let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let summary = lines.firstIndex(of: "Test cases:").flatMap { $0 + 1 < lines.count ? lines[$0 + 1] : nil } ?? "no summary"
            figures["\(label)_token"] = .string(summary)
            figures["\(label)_seconds"] = .number(Date().timeIntervalSince(started).rounded())
        }
        // Schema-valid submissions are valid: some of the generated jobs and runs were accepted (201),
        // which needs the per-pipeline schemas (a generic `parameters: object` is refused every time).
        var jobs = 0
        var cursor: String?
        repeat {
            let page = try await service.request("GET", "/v1/jobs?limit=500" + (cursor.map { "&cursor=\($0)" } ?? ""), token: admin)
            jobs += page.body?["jobs"]?.arrayValue?.count ?? 0
            cursor = page.body?["next_cursor"]?.stringValue
        } while cursor != nil
        let runs = try await service.request("GET", "/v1/runs?limit=500", token: admin).body?["runs"]?.arrayValue?.count ?? 0
        #expect(jobs > 0, "no generated submission was accepted: the served schemas do not describe what the service accepts")
        figures["jobs_created"] = .number(Double(jobs))
        figures["runs_created"] = .number(Double(runs))
        #expect(try await service.request("GET", "/healthz").status == 200)
        _ = try await run("/usr/bin/env", ["scancel", "-p", ReliabilityRun.queueOnlyPartition])
        ReliabilityRun.record("schemathesis", figures)
    }

    @Test("schemathesis against the GA4GH WES document (/ga4gh/wes/v1/openapi.yaml), --checks all and all four phases, with a group token: nothing found")
    func fuzzWES() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else { throw Missing() }
        try ReliabilityRun.makeQueueOnlyPartition()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("schemathesis-wes"), edits: ReliabilityRun.queueOnlyEdits)
        try await service.start()
        defer { service.stop() }
        let documentPath = service.root + "/wes-openapi.yaml"
        try TestPaths.write(try await service.text("/ga4gh/wes/v1/openapi.yaml"), to: documentPath)
        // WES's document cannot carry the pipelines' parameter schemas (workflow_params is any object,
        // which the named pipeline's schema then judges), so a schema-valid run request is mostly the
        // documented 422; every other check and operation stays as shipped.
        // A run of the group's own, so the operations on one run reach it (schemathesis fills their path
        // parameters with its id and with one of its tasks) rather than only ever answering 404.
        let token = try service.token(group: "cancer_genomics_lab")
        let reads = service.root + "/reads/fuzz"
        let created = try await service.request("POST", "/ga4gh/wes/v1/runs", token: token, body: [
            "workflow_url": "gatk_variant_calling",
            "workflow_params": ["sample_id": "FUZZ", "reference_genome": "hg38", "fastq_r1": .string(reads + "_R1.fastq"), "fastq_r2": .string(reads + "_R2.fastq")],
        ])
        let runID = try #require(created.body?["run_id"]?.stringValue, "\(created.status) \(created.body?.prettyJSON ?? "")")
        let configPath = service.root + "/schemathesis.toml"
        try TestPaths.write("""
            [parameters]
            "path.run_id" = "\(runID)"
            "path.task_id" = "main"

            [[operations]]
            include-operation-id = "runWorkflow"
            checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

            """, to: configPath)
        let started = Date()
        let result = try await run(Self.binary, [
            "--no-color", "--config-file", configPath, "run", documentPath, "--url", "http://127.0.0.1:\(service.port)/ga4gh/wes/v1",
            "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
            "--header", "Authorization: Bearer \(token)", "--max-examples", "\(ReliabilityRun.size(fast: 10, full: 60))", "--seed", "20261207",
            "--request-timeout", "20", "--workers", "1", "--generation-database", "none",
        ], directory: service.root)
        let output = result.stdout + result.stderr
        #expect(result.status == 0, "schemathesis (WES) found problems:\n\(output.suffix(8000))")
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let summary = lines.firstIndex(of: "Test cases:").flatMap { $0 + 1 < lines.count ? lines[$0 + 1] : nil } ?? "no summary"
        #expect(try await service.request("GET", "/healthz").status == 200)
        _ = try await run("/usr/bin/env", ["scancel", "-p", ReliabilityRun.queueOnlyPartition])
        ReliabilityRun.record("schemathesis-wes", ["cases": .string(summary), "seconds": .number(Date().timeIntervalSince(started).rounded())])
    }

    @Test("events read from a live /v1/events stream, and replayed after Last-Event-ID, match the contract's TransitionEvent schema")
    func eventsMatchContract() async throws {
        try ReliabilityRun.makeQueueOnlyPartition()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("events-contract"), edits: ReliabilityRun.queueOnlyEdits)
        try await service.start()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        let schema = try ContractSchemas(contract: try await service.text("/openapi.yaml")).schema("TransitionEvent")
        let url = "http://127.0.0.1:\(service.port)/v1/events"

        // curl reads the stream for a fixed time on a thread of its own while this test makes events.
        let live = Mutex<ProcessResult?>(nil)
        Thread {
            let result = try? runBlocking("/usr/bin/env", ["curl", "-sN", "--max-time", "20", "-H", "Authorization: Bearer \(token)", url])
            live.withLock { $0 = result }
        }.start()
        try await Task.sleep(for: .seconds(2))
        let created = try await service.request("POST", "/v1/jobs", token: token, body: ReliabilityCrashTests.request(0, run: "events"))
        let id = try #require(created.body?["id"]?.stringValue)
        try await Task.sleep(for: .seconds(3))
        #expect(try await service.request("POST", "/v1/jobs/\(id)/cancel", token: token).status == 202)
        while live.withLock({ $0 == nil }) { try await Task.sleep(for: .milliseconds(200)) }
        let liveEvents = Self.transitions(in: live.withLock { $0 }?.stdout ?? "")
        let replayed = Self.transitions(in: try await run("/usr/bin/env", ["curl", "-sN", "--max-time", "3", "-H", "Authorization: Bearer \(token)",
                                                                    "-H", "Last-Event-ID: 0", url]).stdout)
        #expect(liveEvents.filter { $0.data["job_id"]?.stringValue == id }.count >= 2, "live stream: \(liveEvents.map(\.data.jsonText))")
        #expect(replayed.count >= liveEvents.count, "replay after Last-Event-ID 0 sent \(replayed.count) events")
        var invalid: [String] = []
        for event in liveEvents + replayed {
            let errors = SchemaValidator(schema: schema).validate(event.data).errors
            let at = event.data["at"]?.stringValue.flatMap(Self.timestamps.date(from:))
            if !errors.isEmpty || at == nil || event.id != event.data["sequence"].map({ JSONValue.format(number: $0.numberValue ?? -1) }) {
                invalid.append("\(event.data.jsonText): \(errors)")
            }
        }
        #expect(invalid.isEmpty, "events that do not match TransitionEvent: \(invalid)")
        _ = try await run("/usr/bin/env", ["scancel", "-p", ReliabilityRun.queueOnlyPartition])
        ReliabilityRun.record("events-contract", ["live_events": .number(Double(liveEvents.count)), "replayed_events": .number(Double(replayed.count)),
                                                  "invalid_events": .number(Double(invalid.count))])
    }

    /// RFC 3339 timestamps with fractional seconds, as events carry them (`format: date-time`).
    nonisolated(unsafe) static let timestamps: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    /// The `transition` events of an event-stream text: their ids and their data as JSON.
    static func transitions(in text: String) -> [(id: String?, data: JSONValue)] {
        text.components(separatedBy: "\n\n").compactMap { frame in
            let lines = frame.split(separator: "\n")
            guard lines.contains("event: transition"), let data = lines.first(where: { $0.hasPrefix("data: ") }) else { return nil }
            let id = lines.first { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
            return (id, (try? JSONValue.parse(String(data.dropFirst(6)))) ?? .null)
        }
    }
}
