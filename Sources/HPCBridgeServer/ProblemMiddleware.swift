import Foundation
import HPCBridge
import HPCBridgeAPI
import HTTPTypes
import Logging
import OpenAPIRuntime

/// The outermost middleware: whatever goes wrong below becomes an RFC 9457 problem document. A refusal
/// of the service a handler throws (`JobService.Refusal`) answers as `RefusalAnswer` maps it, the one
/// mapping both APIs share; a request the generated decoder cannot read answers 400 (or 422 for a body,
/// with the field's pointer); a store fault (disk full, read-only, damaged) answers 503 with Retry-After;
/// any other error in a handler answers 500 and is logged with the operation, never with the request's
/// headers.
struct ProblemMiddleware: ServerMiddleware {
    let logger: Logger
    /// Operations that submit: a "not found" there is a pipeline or group the caller may not use (403).
    static let submissions: Set<String> = ["submitJob", "submitRun"]

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            return try await next(request, body, metadata)
        } catch let error as ServerError {
            if let refusal = error.underlyingError as? JobService.Refusal {
                return ErrorFormat.problem.response(RefusalAnswer(refusal, on: Self.submissions.contains(operationID) ? .submission : .resource))
            }
            if let decoding = error.underlyingError as? DecodingError, (operationID == "submitJob" || operationID == "submitRun") {
                let (pointer, message) = Self.describe(decoding)
                return try ProblemResponse.validation([ValidationError(pointer: pointer, message: message)])
            }
            // The store's disk is full, read-only or damaged: nothing was stored, and the client should retry.
            if let fault = StoreFault.describe(error.underlyingError) {
                logger.error("the job store refused a request", metadata: ["operation": "\(operationID)", "error": "\(error.underlyingError)"])
                return ProblemResponse.make(.serviceUnavailable, detail: "\(fault); nothing was changed. Retry later; the service's /readyz shows when the store takes writes again",
                                            headers: [.retryAfter: "30"])
            }
            if error.httpStatus.kind == .serverError {
                logger.error("request failed", metadata: ["operation": "\(operationID)", "error": "\(error.underlyingError)"])
                return ProblemResponse.make(error.httpStatus, detail: "the service failed to answer \(operationID); the error is in its log")
            }
            return ProblemResponse.make(error.httpStatus, detail: "\(error.causeDescription): \(error.underlyingError)")
        }
    }

    /// A pointer into the request and a sentence for a decoding failure.
    static func describe(_ error: DecodingError) -> (JSONPointer, String) {
        func pointer(_ path: [any CodingKey]) -> JSONPointer {
            JSONPointer(tokens: path.map { $0.intValue.map(String.init) ?? $0.stringValue })
        }
        switch error {
        case .typeMismatch(let type, let context):
            return (pointer(context.codingPath), "must be \(type == String.self ? "text" : type == Int.self ? "a whole number" : "\(type)"); \(context.debugDescription)")
        case .valueNotFound(_, let context):
            return (pointer(context.codingPath), "is required but missing")
        case .keyNotFound(let key, let context):
            return (pointer(context.codingPath + [key]), "is required but missing")
        case .dataCorrupted(let context):
            return (pointer(context.codingPath), context.debugDescription)
        @unknown default:
            return (.root, "\(error)")
        }
    }
}
