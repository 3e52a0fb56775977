import Foundation
import HPCBridge
import Hummingbird

/// JSON bodies and RFC 9457 problem documents, built in one place so every route answers alike.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ body: JSONValue, contentType: String = "application/json") -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(body.prettyJSON + "\n")
        return Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: buffer))
    }

    /// `application/problem+json` with type, title, status and detail (RFC 9457).
    static func problem(_ status: HTTPResponse.Status, detail: String, extra: [String: JSONValue] = [:]) -> Response {
        var members: [String: JSONValue] = [
            "type": "about:blank", "title": .string(status.reasonPhrase), "status": .number(Double(status.code)), "detail": .string(detail),
        ]
        members.merge(extra) { $1 }
        return make(status, .object(members), contentType: "application/problem+json")
    }
}
