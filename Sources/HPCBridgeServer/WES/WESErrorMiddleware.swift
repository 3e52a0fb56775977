import Foundation
import HPCBridge
import HTTPTypes
import Logging
import OpenAPIRuntime

/// The outermost middleware of the WES routes: whatever goes wrong below becomes a WES error
/// (`{msg, status_code}`), with the status and words /v1 would give (`RefusalAnswer`). A refusal of the
/// service is mapped as on /v1, one a handler makes itself (`WESRefusal`) keeps its own; a request the generated decoder cannot read answers 400; a store fault 503 with
/// Retry-After; any other failure 500, logged with the operation and never with the request's headers.
/// It also gives the handlers the base of absolute URLs (`WESRequestContext`).
struct WESErrorMiddleware: ServerMiddleware {
    let logger: Logger

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        let context = WESRequestContext.Values(base: Self.base(of: request))
        do {
            return try await WESRequestContext.$current.withValue(context) { try await next(request, body, metadata) }
        } catch let error as ServerError {
            return ErrorFormat.wes.response(answer(for: error, operationID: operationID))
        }
    }

    func answer(for error: ServerError, operationID: String) -> RefusalAnswer {
        if let refusal = error.underlyingError as? WESRefusal { return refusal.answer }
        if let decoding = error.underlyingError as? DecodingError {
            let (pointer, message) = ProblemMiddleware.describe(decoding)
            return RefusalAnswer(status: .badRequest, message: "\(pointer): \(message)")
        }
        return RefusalAnswer(failure: error, operationID: operationID, submission: operationID == "runWorkflow", logger: logger)
    }

    /// `scheme://host` of the request as its client addressed it: the Host header, and https when a
    /// proxy in front says so (`X-Forwarded-Proto`). A site behind a proxy that rewrites paths sets
    /// `public_url` instead.
    static func base(of request: HTTPRequest) -> String {
        "\(request.clientScheme)://\(request.authority ?? "localhost")"
    }
}
