import Foundation
import HPCBridge
import HTTPTypes
import OpenAPIRuntime

/// RFC 9457 problem documents for answers given outside the generated handlers (middleware refusals).
enum ProblemResponse {
    static func make(_ status: HTTPResponse.Status, detail: String, headers: HTTPFields = [:]) -> (HTTPResponse, HTTPBody?) {
        let document: JSONValue = [
            "type": "about:blank", "title": .string(status.reasonPhrase), "status": .number(Double(status.code)), "detail": .string(detail),
        ]
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return (HTTPResponse(status: status, headerFields: fields), HTTPBody(document.prettyJSON + "\n"))
    }

    /// A refusal as a problem document (422 lists its errors in the `ValidationProblem` shape).
    static func make(_ answer: RefusalAnswer) -> (HTTPResponse, HTTPBody?) {
        ErrorFormat.problem.response(answer)
    }

    /// The title of a status for a problem document (`HTTPResponse.Status(code:)` has none).
    static func title(of code: Int) -> String {
        let known: [HTTPResponse.Status] = [.badRequest, .unauthorized, .forbidden, .notFound, .requestTimeout, .conflict, .contentTooLarge,
                                            .unsupportedMediaType, .unprocessableContent, .tooManyRequests, .internalServerError, .serviceUnavailable]
        return known.first { $0.code == code }?.reasonPhrase ?? "HTTP \(code)"
    }

    /// 422 with every validation error and its JSON Pointer, in the contract's `ValidationProblem` shape.
    static func validation(_ errors: [ValidationError]) throws -> (HTTPResponse, HTTPBody?) {
        let body = try JSONEncoder().encode(JobAPI.validationProblem(errors))
        return (HTTPResponse(status: .unprocessableContent, headerFields: [.contentType: "application/problem+json"]), HTTPBody(body))
    }
}
