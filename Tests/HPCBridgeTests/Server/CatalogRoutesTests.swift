import Foundation
import HPCBridgeServer
import Hummingbird
import HummingbirdTesting
import Testing
@testable import HPCBridge

@Suite("HTTP: health and the pipeline catalog")
struct CatalogRoutesTests {
    func withClient(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await TestService(scheduler: FakeScheduler()).withClient(body)
    }

    func json(_ buffer: ByteBuffer) throws -> JSONValue { try JSONValue.parse(Data(String(buffer: buffer).utf8)) }

    @Test("GET /healthz")
    func health() async throws {
        try await withClient { client in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok)
            #expect(try json(response.body) == ["status": "ok"])
        }
    }

    @Test("GET /v1/pipelines lists every pipeline")
    func list() async throws {
        try await withClient { client in
            let response = try await client.execute(uri: "/v1/pipelines", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            let names = try json(response.body)["pipelines"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            #expect(names == ["gatk_variant_calling", "germline_cohort", "rnaseq_cohort", "rnaseq_deseq2"])
        }
    }

    @Test("GET /v1/pipelines/{name} of a cohort pipeline shows its steps and the sample sheet's row schema")
    func cohortDetail() async throws {
        try await withClient { client in
            let response = try await client.execute(uri: "/v1/pipelines/germline_cohort", method: .get)
            #expect(response.status == .ok)
            let body = try json(response.body)
            #expect(body["steps"]?.arrayValue?.map { $0["name"] } == ["align", "joint_genotype"])
            #expect(body["steps"]?.arrayValue?.first?["scatter"] == "sample_sheet")
            #expect(body["steps"]?.arrayValue?.last?["needs"] == ["align"])
            #expect(body["sample_sheet"]?["required"] == ["sample_id", "fastq_r1", "fastq_r2"])
            #expect(body["resources"] == nil && body["outputs"] == nil, "a run's resources and outputs are per step")
        }
    }

    @Test("GET /v1/pipelines/{name} returns the schema, resources and outputs")
    func detail() async throws {
        try await withClient { client in
            let response = try await client.execute(uri: "/v1/pipelines/gatk_variant_calling", method: .get)
            #expect(response.status == .ok)
            let document = try json(response.body)
            #expect(document["version"] == "1.0.0")
            #expect(document["parameters"]?["properties"]?["caller"]?["enum"] == ["HaplotypeCaller", "bcftools"])
            #expect(document["resources"]?["defaults"]?["memory"] == "16G")
            #expect(document["resources"]?["bounds"]?["cpus"] == ["min": 1, "max": 32])
            #expect(document["outputs"]?.arrayValue?.count == 4)
        }
    }

    @Test("GET /openapi.yaml serves the contract, which lists every route served here")
    func openapi() async throws {
        try await withClient { client in
            let response = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/yaml")
            let text = String(buffer: response.body)
            #expect(text.hasPrefix("openapi: 3.1.0"))
            let document = try YAMLDocument(text: text, path: "openapi.yaml")
            let paths = try #require(document.value["paths"]?.objectValue)
            for route in ["/healthz", "/readyz", "/openapi.yaml", "/v1/pipelines", "/v1/pipelines/{name}", "/v1/jobs", "/v1/jobs/{id}",
                          "/v1/jobs/{id}/cancel", "/v1/jobs/{id}/logs"] {
                #expect(paths[route] != nil, "\(route) is not in openapi.yaml")
            }
        }
    }

    @Test("an unknown pipeline is a 404 problem document with a hint")
    func unknown() async throws {
        try await withClient { client in
            let response = try await client.execute(uri: "/v1/pipelines/gatk_variant_caling", method: .get)
            #expect(response.status == .notFound)
            #expect(response.headers[.contentType]?.hasPrefix("application/problem+json") == true)
            let problem = try json(response.body)
            #expect(problem["status"] == 404)
            #expect(problem["detail"]?.stringValue?.contains("did you mean \"gatk_variant_calling\"") == true)
        }
    }
}
