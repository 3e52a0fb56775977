import Foundation
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

/// Issue 7, part 5: schemathesis (property-based API testing from the contract) against a live service.
@Suite("Reliability: contract fuzzing with schemathesis", .enabled(if: LiveCluster.enabled), .serialized)
struct ReliabilitySchemathesisTests {
    static let binary = TestPaths.root + "/.build/reliability-tools/bin/schemathesis"

    struct Missing: Error, CustomStringConvertible {
        var description: String { "schemathesis is not installed in .build/reliability-tools; run `make reliability-tools`" }
    }

    @Test("schemathesis against /openapi.yaml with group and admin tokens: no 5xx, every response as the contract says")
    func fuzzContract() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else { throw Missing() }
        try ReliabilityRun.makeQueueOnlyPartition()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("schemathesis"), edits: ReliabilityRun.queueOnlyEdits)
        try await service.start()
        defer { service.stop() }
        // The contract as served, minus what never ends on its own: the event stream and followed logs
        // (the auth matrix and the load suite cover those).
        var contract = try await service.text("/openapi.yaml")
        if let events = contract.range(of: "  /v1/events:\n"), let next = contract.range(of: "  /v1/pipelines:\n", range: events.upperBound..<contract.endIndex) {
            contract.removeSubrange(events.lowerBound..<next.lowerBound)
        }
        contract = contract.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("{name: follow,") }.joined(separator: "\n")
        #expect(!contract.contains("/v1/events") && !contract.contains("name: follow"))
        let contractPath = service.root + "/openapi-finite.yaml"
        try TestPaths.write(contract, to: contractPath)

        var figures: [String: JSONValue] = [:]
        for (label, group) in [("group", Optional("cancer_genomics_lab")), ("admin", nil)] {
            let token = try service.token(group: group)
            let examples = ReliabilityRun.size(fast: 25, full: 200)
            let result = try run(Self.binary, [
                "--no-color", "run", contractPath, "--url", "http://127.0.0.1:\(service.port)",
                "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
                "--header", "Authorization: Bearer \(token)", "--max-examples", "\(examples)", "--seed", "20261125",
                // One worker: with two threads the coverage phase fails inside the tool (hypothesis calls
                // `ast.parse` from both, and CPython 3.11's parser is not thread-safe: "AST constructor
                // recursion depth mismatch", then a KeyError in its cache). All four phases run.
                "--request-timeout", "20", "--workers", "1", "--generation-database", "none",
            ], directory: service.root)
            let output = result.stdout + result.stderr
            #expect(result.status == 0, "schemathesis (\(label) token) found problems:\n\(output.suffix(6000))")
            // "Test cases:" is followed by a line such as "126 generated, 126 passed".
            let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let summary = lines.firstIndex(of: "Test cases:").flatMap { $0 + 1 < lines.count ? lines[$0 + 1] : nil } ?? "no summary"
            figures["\(label)_token"] = .string(summary)
        }
        #expect(try await service.request("GET", "/healthz").status == 200)
        _ = try run("/usr/bin/env", ["scancel", "-p", ReliabilityRun.queueOnlyPartition])
        ReliabilityRun.record("schemathesis", figures)
    }
}
