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
            let submission = Self.submissions.contains(operationID)
            if submission, let decoding = error.underlyingError as? DecodingError {
                let (pointer, message) = Self.describe(decoding)
                return try ProblemResponse.validation([ValidationError(pointer: pointer, message: message)])
            }
            return ErrorFormat.problem.response(RefusalAnswer(failure: error, operationID: operationID, submission: submission, logger: logger))
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
