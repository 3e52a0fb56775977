import Foundation
import HPCBridge
import Hummingbird

/// Builds the HTTP application for a site: the one composition root that `hpcbridge serve` and the
/// in-process tests share.
///
/// Today it serves the read-only part of the API: health and the pipeline catalog with each
/// pipeline's parameter schema. Job submission, status and metrics join it with the job service.
public func buildApplication(site: Site, configuration: ApplicationConfiguration = .init()) -> some ApplicationProtocol {
    Application(router: buildRouter(site: site), configuration: configuration)
}

/// The routes, separate from the application so tests can drive them without a socket.
public func buildRouter(site: Site) -> Router<BasicRequestContext> {
    let router = Router()
    router.get("/healthz") { _, _ in
        JSONResponse.make(.ok, ["status": "ok"])
    }
    router.get("/openapi.yaml") { _, _ in
        var buffer = ByteBuffer()
        buffer.writeString(OpenAPIDocument.text)
        return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: buffer))
    }
    router.get("/v1/pipelines") { _, _ in
        JSONResponse.make(.ok, ["pipelines": .array(site.catalog.sorted.map(\.summaryDocument))])
    }
    router.get("/v1/pipelines/:name") { _, context in
        let name = context.parameters.get("name") ?? ""
        guard let pipeline = site.catalog.pipelines[name] else {
            return JSONResponse.problem(.notFound, detail: "no pipeline \"\(name)\"\(EditDistance.hint(for: name, among: site.catalog.pipelines.keys.sorted())); GET /v1/pipelines lists them")
        }
        return JSONResponse.make(.ok, pipeline.document)
    }
    return router
}

/// The HTTP contract (`openapi.yaml`, beside this file), served as written.
enum OpenAPIDocument {
    static let text: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return "" }
        return text
    }()
}
