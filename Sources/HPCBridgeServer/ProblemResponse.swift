import Foundation
import HPCBridge
import HTTPTypes
import OpenAPIRuntime

/// RFC 9457 problem documents for answers given outside the generated handlers (middleware refusals).
enum ProblemResponse {
    static func make(_ status: HTTPResponse.Status, detail: String, headers: HTTPFields = [:]) -> (HTTPResponse, HTTPBody?) {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return (HTTPResponse(status: status, headerFields: fields), HTTPBody(document(status, detail: detail)))
    }

    /// The problem document's text (every problem document but a validation one is written here).
    static func document(_ status: HTTPResponse.Status, detail: String) -> String {
        let document: JSONValue = [
            "type": "about:blank", "title": .string(status.reasonPhrase), "status": .number(Double(status.code)), "detail": .string(detail),
        ]
        return document.prettyJSON + "\n"
    }

    /// The title of a status for a problem document (`HTTPResponse.Status(code:)` has none).
    static func title(of code: Int) -> String {
        let known: [HTTPResponse.Status] = [.badRequest, .unauthorized, .forbidden, .notFound, .requestTimeout, .conflict, .contentTooLarge,
                                            .unsupportedMediaType, .unprocessableContent, .tooManyRequests, .internalServerError, .serviceUnavailable]
        return known.first { $0.code == code }?.reasonPhrase ?? "HTTP \(code)"
    }

    /// 422 with every validation error and its JSON Pointer, in the contract's `ValidationProblem` shape.
    static func validation(_ errors: [ValidationError]) throws -> (HTTPResponse, HTTPBody?) {
        (HTTPResponse(status: .unprocessableContent, headerFields: [.contentType: "application/problem+json"]), HTTPBody(try validationDocument(errors)))
    }

    static func validationDocument(_ errors: [ValidationError]) throws -> Data {
        try JSONEncoder().encode(JobAPI.validationProblem(errors))
    }
}
