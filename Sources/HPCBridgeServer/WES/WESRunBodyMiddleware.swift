import Foundation
import HPCBridge
import HTTPTypes
import OpenAPIRuntime

/// Checks a WES run request's body before the generated decoder reads it, with `SubmitRequestMiddleware`'s
/// checks and words: 400 for a malformed Idempotency-Key, 415 for a media type WES does not take, 413 over
/// the size limit, 408 for a body that does not arrive in time. The body is then handed on whole, so the
/// decoder never waits on a slow client.
struct WESRunBodyMiddleware: ServerMiddleware {
    /// The media types of `POST /runs`.
    static let mediaTypes = ["multipart/form-data", "application/x-www-form-urlencoded", "application/json"]
    /// How long a body may take to arrive (the config's `http.body_timeout_seconds`, read per request).
    let bodyTimeoutSeconds: @Sendable () -> Double

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        guard operationID == "runWorkflow" else { return try await next(request, body, metadata) }
        if let refusal = SubmitRequestMiddleware.idempotencyKeyRefusal(request) { return ErrorFormat.wes.response(refusal) }
        let contentType = request.headerFields[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard let contentType, Self.mediaTypes.contains(contentType) else {
            return ErrorFormat.wes.response(.init(status: .unsupportedMediaType,
                                               message: "send the run request as \(Self.mediaTypes.joined(separator: ", ")); got \(contentType.map { "`\($0)`" } ?? "no Content-Type")"))
        }
        let collected = await SubmitRequestMiddleware.collect(body ?? HTTPBody(), upTo: SubmitRequestMiddleware.maximumBodyBytes, within: bodyTimeoutSeconds())
        guard case .complete(let data) = collected else { return ErrorFormat.wes.response(collected.refusal!) }
        return try await next(request, HTTPBody(data), metadata)
    }
}
