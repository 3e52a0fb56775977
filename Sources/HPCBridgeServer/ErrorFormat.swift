import Foundation
import HPCBridge
import HTTPTypes
import OpenAPIRuntime

/// How an API writes a refusal: /v1 as an RFC 9457 problem document (a 422 lists every error with its
/// pointer in the contract's `ValidationProblem` shape), GA4GH WES as `{"msg": ..., "status_code": ...}`.
/// The status, headers and words come from `RefusalAnswer` either way.
enum ErrorFormat: Sendable {
    case problem
    case wes

    /// The answer's head and body.
    func render(_ answer: RefusalAnswer) -> (head: HTTPResponse, body: String) {
        var fields = answer.headers
        switch self {
        case .problem:
            fields[.contentType] = "application/problem+json"
            if answer.status == .unprocessableContent, !answer.errors.isEmpty, let data = try? ProblemResponse.validationDocument(answer.errors) {
                return (HTTPResponse(status: answer.status, headerFields: fields), String(decoding: data, as: UTF8.self))
            }
            return (HTTPResponse(status: answer.status, headerFields: fields), ProblemResponse.document(answer.status, detail: answer.message))
        case .wes:
            let document: JSONValue = ["msg": .string(answer.message), "status_code": .number(Double(answer.status.code))]
            fields[.contentType] = "application/json"
            return (HTTPResponse(status: answer.status, headerFields: fields), document.prettyJSON + "\n")
        }
    }

    /// The answer for an OpenAPI middleware.
    func response(_ answer: RefusalAnswer) -> (HTTPResponse, HTTPBody?) {
        let (head, body) = render(answer)
        return (head, HTTPBody(body))
    }
}
