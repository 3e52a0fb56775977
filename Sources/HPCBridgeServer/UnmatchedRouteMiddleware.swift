import HPCBridge
import HTTPTypes
import Hummingbird
import NIOCore
import Yams

/// Answers what no route takes with a problem document: a path of the contract asked with a method it
/// does not declare gets 405 with `Allow` listing the ones it does (RFC 9110 requires the header), and a
/// path the contract does not have gets 404. The router alone answers both with a bare 404, which tells
/// a client neither that the path exists nor which method to use.
struct UnmatchedRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    /// One path of the contract: its segments (nil for a `{parameter}`) and its methods.
    struct Route: Sendable {
        let segments: [String?]
        let methods: [String]
    }

    let routes: [Route]

    struct UnreadableContract: Error, CustomStringConvertible {
        var description: String { "openapi.yaml has no paths mapping; the routes cannot be listed" }
    }

    /// The routes of a contract document (OpenAPI YAML).
    init(contract: String) throws {
        guard let paths = try Yams.compose(yaml: contract)?["paths"]?.mapping else { throw UnreadableContract() }
        let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        routes = paths.compactMap { path, item -> Route? in
            guard let path = path.string, let operations = item.mapping else { return nil }
            let declared = Array(operations.keys.compactMap(\.string).filter(methods.contains).map { $0.uppercased() })
            let segments: [String?] = path.split(separator: "/").map { $0.hasPrefix("{") && $0.hasSuffix("}") ? nil : String($0) }
            return Route(segments: segments, methods: declared)
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            // The router folds empty segments (`/v1//jobs`); so does this.
            let segments = request.uri.path.split(separator: "/")
            guard let route = routes.first(where: { route in
                route.segments.count == segments.count && zip(route.segments, segments).allSatisfy { $0 == nil || $0! == $1 }
            }) else {
                return Self.problem(.notFound, "no such path; /openapi.yaml lists every path of this API")
            }
            let allowed = route.methods.joined(separator: ", ")
            return Self.problem(.methodNotAllowed, "\(request.method.rawValue) is not a method of this path; use \(allowed)", headers: [.allow: allowed])
        }
    }

    static func problem(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) -> Response {
        let document: JSONValue = ["type": "about:blank", "title": .string(status.reasonPhrase), "status": .number(Double(status.code)), "detail": .string(detail)]
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: document.prettyJSON + "\n")))
    }
}
