import Foundation
import HPCBridge
import HPCBridgeAPI
import HPCBridgeWESAPI
import Hummingbird
import Logging
import NIOCore
import OpenAPIHummingbird
import OpenAPIRuntime

/// Builds the HTTP application: the one composition root that `hpcbridge serve` and the in-process
/// tests share.
/// The idle timeout comes from the config at start-up (a reload does not change it).
public func buildApplication(service: JobService, configuration: ApplicationConfiguration = .init(),
                             logger: Logger = Logger(label: "hpcbridge.http")) throws -> some ApplicationProtocol {
    let idle = TimeAmount.nanoseconds(Int64(service.site.config.httpIdleTimeoutSeconds * 1_000_000_000))
    return Application(router: try buildRouter(service: service, logger: logger), server: .http1(configuration: .init(idleTimeout: idle)),
                       configuration: configuration, logger: logger)
}

/// The routes of `openapi.yaml` and of the GA4GH WES document (under `/ga4gh/wes/v1`), registered from
/// the generated server code, behind a request log and the answers for unmatched routes (404, or 405
/// with `Allow`, in each API's error format). /v1 has four OpenAPI middlewares (outermost first): problem
/// documents for every failure, bearer-token authentication, kept job representations and the submission
/// body checks; WES has its error middleware, the same authentication writing WES errors, and the run
/// body checks. The web pages (`WebUI`) are under `/ui`, with sessions of their own.
public func buildRouter(service: JobService, logger: Logger = Logger(label: "hpcbridge.http")) throws -> Router<BasicRequestContext> {
    let router = Router()
    // One line per request (method, path); headers are left out, so a token never reaches the log.
    router.add(middleware: LogRequestsMiddleware(.info, includeHeaders: .none))
    if let metrics = service.metrics { router.add(middleware: HTTPMetricsMiddleware(metrics: metrics)) }
    router.add(middleware: RequestLoggerMiddleware())
    // The routes come from the contracts the code is generated from; a reload does not change them.
    router.add(middleware: try UnmatchedRouteMiddleware(apis: [(OpenAPIDocument.text, "", .problem), (WESDocument.text, WESAPI.basePath, .wes)]))
    let dateTranscoder = FormatStyleDateTranscoder()
    let encoded = EncodedJobs(store: service.store, dateTranscoder: dateTranscoder)
    let api = JobAPI(service: service, encoded: encoded, logger: logger)
    let configuration = Configuration(dateTranscoder: dateTranscoder, jsonEncodingOptions: EncodedJobs.runtimeOptions)
    let authentication = BearerAuthMiddleware(tokens: service.tokens, config: { service.site.config }, logger: logger)
    try api.registerHandlers(
        on: router,
        serverURL: URL(string: "/")!,
        configuration: configuration,
        middlewares: [ProblemMiddleware(logger: logger), authentication,
                      EncodedJobMiddleware(encoded: encoded), SubmitRequestMiddleware(bodyTimeoutSeconds: { service.site.config.httpBodyTimeoutSeconds }, api: api)])
    var wesAuthentication = authentication
    wesAuthentication.publicOperations = ["getServiceInfo"]
    wesAuthentication.optionalOperations = ["getServiceInfo"]
    wesAuthentication.refuse = ErrorFormat.wes.response
    try WESAPI(service: service, logger: logger).registerHandlers(
        on: router,
        serverURL: URL(string: WESAPI.basePath)!,
        configuration: Configuration(dateTranscoder: dateTranscoder, jsonEncodingOptions: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]),
        middlewares: [WESErrorMiddleware(logger: logger), wesAuthentication,
                      WESRunBodyMiddleware(bodyTimeoutSeconds: { service.site.config.httpBodyTimeoutSeconds })])
    try WebUI(service: service, logger: logger).register(on: router)
    router.get(RouterPath(WESAPI.basePath + "/openapi.yaml")) { _, _ in
        Response(status: .ok, headers: [.contentType: "application/yaml"], body: ResponseBody(byteBuffer: ByteBuffer(string: WESDocument.text)))
    }
    return router
}
