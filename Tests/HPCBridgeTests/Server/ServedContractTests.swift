import Foundation
import HPCBridgeServer
import Hummingbird
import HummingbirdTesting
import Testing
@testable import HPCBridge

/// Issue 15, item 5: the served contract carries each pipeline's schemas (and follows a reload), and
/// what no route takes is answered as the contract says.
@Suite("HTTP: the served contract")
struct ServedContractTests {
    static func examples() throws -> [(name: String, request: JSONValue)] {
        try ["gatk_variant_calling", "rnaseq_deseq2", "rnaseq_deseq2_design", "germline_cohort", "rnaseq_cohort"].map { name in
            (name, try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: TestPaths.examples + "/\(name).json"))))
        }
    }

    @Test("/openapi.yaml writes in every pipeline: one request schema each, its parameters, sample-sheet row and step resources")
    func pipelinesInContract() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        try await service.withClient { client in
            let response = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            let contract = try ContractSchemas(contract: String(buffer: response.body))
            let components = contract.components
            for pipeline in ["gatk_variant_calling", "germline_cohort", "rnaseq_cohort", "rnaseq_deseq2"] {
                #expect(components["Parameters_\(pipeline)"] != nil, "no Parameters_\(pipeline)")
                #expect(components["RunRequest_\(pipeline)"] != nil, "no RunRequest_\(pipeline)")
            }
            let jobChoices = components["JobRequest"]?["oneOf"]?.arrayValue?.compactMap { $0["$ref"]?.stringValue }
            #expect(jobChoices == ["#/components/schemas/JobRequest_gatk_variant_calling", "#/components/schemas/JobRequest_rnaseq_deseq2"])
            #expect(components["JobRequest"]?["discriminator"]?["propertyName"] == "pipeline_name")
            #expect(components["RunRequest"]?["oneOf"]?.arrayValue?.count == 4)
            #expect(components["SampleSheetRow_germline_cohort"] != nil)
            #expect(components["Resources_gatk_variant_calling_main"]?["properties"]?["cpus"]?["anyOf"]?.arrayValue?.first?["maximum"] == 32)
            // The catalog's `$ref`s point into the component; formats became patterns.
            let fastq = components["Parameters_gatk_variant_calling"]?["$defs"]?["fastq_location"]
            #expect(fastq?["anyOf"]?.arrayValue?.allSatisfy { $0["pattern"]?.stringValue != nil && $0["format"] == nil } == true)
            #expect(components["Parameters_gatk_variant_calling"]?["properties"]?["fastq_r1"]?["$ref"]
                    == "#/components/schemas/Parameters_gatk_variant_calling/$defs/fastq_location")

            // The shipped example requests are valid by the served schemas, and what the service refuses is not.
            // (rnaseq_cohort's example sends its sheet as CSV text, which the served schema leaves to the service.)
            for (name, request) in try Self.examples() where request["samples"]?.stringValue == nil {
                let pipeline = try #require(request["pipeline_name"]?.stringValue)
                let kind = ["germline_cohort", "rnaseq_cohort"].contains(pipeline) ? "RunRequest" : "JobRequest"
                let errors = SchemaValidator(schema: try contract.schema("\(kind)_\(pipeline)")).validate(request).errors
                #expect(errors.isEmpty, "\(name): \(errors)")
                #expect(SchemaValidator(schema: try contract.schema(kind)).validate(request).errors.isEmpty, "\(name) by \(kind)")
            }
            let gatk = try #require(try Self.examples().first?.request)
            let schema = try contract.schema("JobRequest_gatk_variant_calling")
            for (pointer, value) in [(["parameters", "fastq_r1"], "/data/cancer_genomics_lab/../x/in_R1.fastq"), (["parameters", "fastq_r1"], "relative/in_R1.fastq"),
                                     (["parameters", "fastq_r1"], "/etc/in_R1.fastq"), (["parameters", "fastq_r1"], "http://host/in_R1.fastq"),
                                     (["parameters", "fastq_r1"], "/data/cancer_genomics_lab//in_R1.fastq"), (["parameters", "sample_id"], "S\n1"),
                                     (["resources", "memory"], "512G"), (["resources", "memory"], "0G"), (["resources", "cpus"], "4"),
                                     (["description"], "line\u{2028}break"), (["research_group"], "systems_biology_lab")] {
                let bad = gatk.replacing(at: pointer, with: pointer == ["resources", "cpus"] ? .number(64) : .string(value))
                #expect(!SchemaValidator(schema: schema).validate(bad).errors.isEmpty, "\(pointer) = \(value) passes the served schema")
            }
            for memory in ["1G", "1024", "256G", "262144M", "1048576K", "16g"] {
                let good = gatk.replacing(at: ["resources", "memory"], with: .string(memory))
                #expect(SchemaValidator(schema: schema).validate(good).errors.isEmpty, "memory \(memory) is refused by the served schema")
            }
            #expect(!SchemaValidator(schema: schema).validate(gatk.replacing(at: ["resources", "memory"], with: "1023M")).errors.isEmpty)
            // gatk_variant_calling's time limit lies between 00:05:00 and 3-00:00:00.
            for time in ["00:05:00", "0:05:00", "12:00:00", "71:59:59", "72:00:00", "1-00:00:00", "2-23:59:59", "3-00:00:00", "0-00:05:00", "5", "4320"] {
                let good = gatk.replacing(at: ["resources", "time_limit"], with: .string(time))
                #expect(SchemaValidator(schema: schema).validate(good).errors.isEmpty, "time limit \(time) is refused by the served schema")
            }
            for time in ["0", "4", "00:04:59", "72:00:01", "3-00:00:01", "4321", "00:60:00", "1-24:00:00", "1:2"] {
                let bad = gatk.replacing(at: ["resources", "time_limit"], with: .string(time))
                #expect(!SchemaValidator(schema: schema).validate(bad).errors.isEmpty, "time limit \(time) passes the served schema")
            }
            // A cursor the service writes has the contract's shape.
            let cursor = JobCursor(createdAt: Date(), id: UUID()).token
            #expect(cursor.range(of: try #require(components["Cursor"]?["pattern"]?.stringValue), options: .regularExpression) != nil)
        }
    }

    @Test("a reload writes the new catalogs and groups into the served contract")
    func reloadRegenerates() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        // The same site, except that cancer_genomics_lab may no longer run rnaseq_deseq2.
        let narrowed = try TestService(scheduler: FakeScheduler()) {
            $0.replacingOccurrences(of: "allowed_pipelines: [gatk_variant_calling, germline_cohort, rnaseq_deseq2, rnaseq_cohort]",
                                    with: "allowed_pipelines: [gatk_variant_calling, germline_cohort, rnaseq_cohort]")
        }
        try await service.withClient { client in
            func groups() async throws -> JSONValue? {
                let text = String(buffer: try await client.execute(uri: "/openapi.yaml", method: .get).body)
                return try ContractSchemas(contract: text).components["JobRequest_rnaseq_deseq2"]?["properties"]?["research_group"]?["enum"]
            }
            let before = try await groups()
            #expect(before == ["cancer_genomics_lab", "systems_biology_lab"])
            service.assembly.siteHolder.replace(with: narrowed.site)
            let after = try await groups()
            #expect(after == ["systems_biology_lab"])
        }
    }

    @Test("an undeclared method on a path of the contract is 405 with Allow; an unknown path is a 404 problem")
    func methodNotAllowed() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let id = UUID().uuidString.lowercased()
            for (method, uri, allow) in [(HTTPRequest.Method.put, "/v1/jobs", "POST, GET"), (.delete, "/v1/jobs/\(id)", "GET"),
                                         (.patch, "/openapi.yaml", "GET"), (.get, "/v1/jobs/\(id)/cancel", "POST"),
                                         (.options, "/v1/runs", "POST, GET"), (.trace, "/v1/runs/\(id)/tasks/align/3/logs", "GET")] {
                let response = try await client.execute(uri: uri, method: method, headers: [.authorization: "Bearer \(token)"])
                #expect(response.status == .methodNotAllowed, "\(method) \(uri): \(response.status)")
                #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            let unknown = try await client.execute(uri: "/v2/jobs", method: .get)
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[.contentType] == "application/problem+json")
            #expect(try JSONValue.parse(Data(String(buffer: unknown.body).utf8))["status"] == 404)
        }
    }

    @Test("an empty cursor is the first page; a malformed Idempotency-Key is a 400")
    func emptyCursorAndKey() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            for uri in ["/v1/jobs?cursor=", "/v1/runs?cursor="] {
                let response = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(response.status == .ok, "\(uri): \(response.status)")
            }
            let garbled = try await client.execute(uri: "/v1/jobs?cursor=x", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(garbled.status == .badRequest)
            let request = try JobAPITests.request()
            for key in ["has space", String(repeating: "k", count: 129), "é"] {
                let response = try await client.execute(uri: "/v1/jobs", method: .post, headers: JobAPITests.headers(token, key: key), body: JobAPITests.body(request))
                #expect(response.status == .badRequest, "Idempotency-Key \(key): \(response.status)")
            }
            let accepted = try await client.execute(uri: "/v1/jobs", method: .post, headers: JobAPITests.headers(token, key: "retry-1:a.b_c"), body: JobAPITests.body(request))
            #expect(accepted.status == .created)
        }
    }
}
