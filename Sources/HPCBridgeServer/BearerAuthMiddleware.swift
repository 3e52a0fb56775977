import HPCBridge
import HTTPTypes
import Logging
import OpenAPIRuntime

/// Checks the `Authorization: Bearer` token of every operation that needs one and makes its principal
/// available to the handlers. Public operations (health, readiness, the contract, the catalog) pass; an
/// operation that is public but shows more to a known caller (WES service-info's state counts) gets the
/// principal of a valid token and passes without one.
///
/// The token itself is never logged or echoed: a refusal names only what was wrong with it. Refusals are
/// written in the API's own error format (`refuse`): a problem document on /v1, a WES error on WES.
struct BearerAuthMiddleware: ServerMiddleware {
    let tokens: TokenCache
    /// The config now (tokens declared by hash change with a reload).
    let config: @Sendable () -> BridgeConfig
    let logger: Logger
    /// Operations the contract marks `security: []`.
    var publicOperations: Set<String> = Self.publicV1Operations
    /// Public operations that take the principal of a valid token when one is sent.
    var optionalOperations: Set<String> = []
    /// Writes a refusal in the API's error format.
    var refuse: @Sendable (RefusalAnswer) -> (HTTPResponse, HTTPBody?) = ErrorFormat.problem.response

    /// The /v1 operations the contract marks `security: []`.
    static let publicV1Operations: Set<String> = ["health", "ready", "metrics", "openapiDocument", "listPipelines", "getPipeline"]

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        let optional = optionalOperations.contains(operationID)
        if publicOperations.contains(operationID) && !optional { return try await next(request, body, metadata) }
        guard let header = request.headerFields[.authorization] else {
            if optional { return try await next(request, body, metadata) }
            return refuse(Self.unauthorized("this operation needs a bearer token: send `Authorization: Bearer hb_...` (an admin creates one with `hpcbridge token create --group NAME`)"))
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            if optional { return try await next(request, body, metadata) }
            return refuse(Self.unauthorized("the Authorization header must read `Bearer <token>`"))
        }
        let principal: APITokens.Principal?
        do { principal = try await tokens.authenticate(Self.trimmed(parts[1]), declaredIn: config()) } catch {
            logger.error("token lookup failed", metadata: ["error": "\(error)"])
            return refuse(RefusalAnswer(status: .serviceUnavailable, message: "the token store could not be read; retry shortly", retryAfter: 5))
        }
        guard let principal else {
            if optional { return try await next(request, body, metadata) }
            return refuse(Self.unauthorized("the token is unknown, malformed or revoked; ask an admin for a new one"))
        }
        return try await RequestPrincipal.$current.withValue(principal) {
            try await next(request, body, metadata)
        }
    }

    /// The token without the spaces or tabs around it (HTTP's optional whitespace). Foundation's
    /// `trimmingCharacters(in:)` was a thirtieth of a job read's CPU.
    static func trimmed(_ text: Substring) -> String {
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let bytes = text.utf8
        guard let first = bytes.firstIndex(where: { !blank($0) }), let last = bytes.lastIndex(where: { !blank($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    static func unauthorized(_ detail: String) -> RefusalAnswer {
        RefusalAnswer(status: .unauthorized, message: detail)
    }
}

import Foundation
