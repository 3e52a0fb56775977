import HPCBridge
import HTTPTypes
import Logging
import OpenAPIRuntime

/// How a refusal of the service is answered over HTTP: one status, one message and the headers, for
/// both APIs. /v1 writes it as a problem document, GA4GH WES as `{msg, status_code}`; the status and the
/// words are the same, so a client learns the same thing from either.
struct RefusalAnswer: Sendable, Equatable {
    /// What the request was about: a refusal that a resource is not there means 404 when the caller
    /// named it, and 403 when a submission named what it may not use (a pipeline or group it cannot see).
    enum Context: Sendable {
        case submission
        case resource
    }

    let status: HTTPResponse.Status
    /// One sentence for the caller (for an invalid request, every error with its pointer, one per line).
    let message: String
    /// The validation errors, for formats that list them one by one.
    let errors: [ValidationError]
    let retryAfter: Int?

    init(_ refusal: JobService.Refusal, on context: Context) {
        switch refusal {
        case .invalid(let errors):
            self.init(status: .unprocessableContent, message: errors.map(\.description).joined(separator: "\n"), errors: errors, retryAfter: nil)
        case .forbidden(let message):
            self.init(status: .forbidden, message: message, errors: [], retryAfter: nil)
        case .notFound(let message):
            self.init(status: context == .submission ? .forbidden : .notFound, message: message, errors: [], retryAfter: nil)
        case .conflict(let message):
            self.init(status: .conflict, message: message, errors: [], retryAfter: nil)
        case .overQuota(let message, let wait):
            self.init(status: .tooManyRequests, message: message, errors: [], retryAfter: wait)
        case .unavailable(let message, let wait):
            self.init(status: .serviceUnavailable, message: message, errors: [], retryAfter: wait)
        }
    }

    init(status: HTTPResponse.Status, message: String, errors: [ValidationError] = [], retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.errors = errors
        self.retryAfter = retryAfter
    }

    /// A failure below an API's error middleware, as both APIs answer it: a refusal of the service as
    /// mapped above, a store fault (disk full, read-only, damaged) 503 with Retry-After, an error of the
    /// handler 500 (logged with the operation, never with the request's headers), and what the generated
    /// code refused with its own status. Decoding failures, which each API words in its own terms, are
    /// the middlewares' to answer before this.
    init(failure error: ServerError, operationID: String, submission: Bool, logger: Logger) {
        if let refusal = error.underlyingError as? JobService.Refusal {
            self.init(refusal, on: submission ? .submission : .resource)
        } else if let fault = StoreFault.describe(error.underlyingError) {
            logger.error("the job store refused a request", metadata: ["operation": "\(operationID)", "error": "\(error.underlyingError)"])
            self.init(status: .serviceUnavailable, message: "\(fault); nothing was changed. Retry later; the service's /readyz shows when the store takes writes again",
                      retryAfter: 30)
        } else if error.httpStatus.kind == .serverError {
            logger.error("request failed", metadata: ["operation": "\(operationID)", "error": "\(error.underlyingError)"])
            self.init(status: error.httpStatus, message: "the service failed to answer \(operationID); the error is in its log")
        } else {
            self.init(status: error.httpStatus, message: "\(error.causeDescription): \(error.underlyingError)")
        }
    }

    /// The headers the answer carries besides its content type. A body that did not arrive in time
    /// closes its connection: what is left of it on the wire is not a request.
    var headers: HTTPFields {
        var fields = HTTPFields()
        if let retryAfter { fields[.retryAfter] = String(retryAfter) }
        if status == .unauthorized { fields[.wwwAuthenticate] = "Bearer realm=\"hpcbridge\"" }
        if status == .requestTimeout { fields[.connection] = "close" }
        return fields
    }
}
