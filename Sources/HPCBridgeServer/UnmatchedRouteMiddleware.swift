import HPCBridge
import HTTPTypes
import Hummingbird
import NIOCore
import Yams

/// Answers what no route takes in the error format of the API the path belongs to: a path of a contract
/// asked with a method it does not declare gets 405 with `Allow` listing the ones it does (RFC 9110
/// requires the header), and a path no contract has gets 404. The router alone answers both with a bare
/// 404, which tells a client neither that the path exists nor which method to use.
struct UnmatchedRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    /// One path of a contract: its segments (nil for a `{parameter}`) and its methods.
    struct Route: Sendable {
        let segments: [String?]
        let methods: [String]
    }

    /// One API: its routes under its path prefix, and how it writes an error.
    struct API: Sendable {
        let prefix: [String]
        let routes: [Route]
        let format: ErrorFormat
    }

    let apis: [API]

    struct UnreadableContract: Error, CustomStringConvertible {
        var description: String { "an OpenAPI document has no paths mapping; its routes cannot be listed" }
    }

    /// The /v1 contract alone (problem documents).
    init(contract: String) throws {
        try self.init(apis: [(contract, "", .problem)])
    }

    /// APIs from their contracts (OpenAPI YAML), the paths of each under its prefix (`/ga4gh/wes/v1`); a
    /// path is matched against the API with the longest prefix that holds it.
    init(apis: [(contract: String, prefix: String, format: ErrorFormat)]) throws {
        self.apis = try apis.map { api in
            guard let paths = try Yams.compose(yaml: api.contract)?["paths"]?.mapping else { throw UnreadableContract() }
            let prefix = api.prefix.split(separator: "/").map(String.init)
            let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
            let routes = paths.compactMap { path, item -> Route? in
                guard let path = path.string, let operations = item.mapping else { return nil }
                let declared = Array(operations.keys.compactMap(\.string).filter(methods.contains).map { $0.uppercased() })
                let segments: [String?] = prefix + path.split(separator: "/").map { $0.hasPrefix("{") && $0.hasSuffix("}") ? nil : String($0) }
                return Route(segments: segments, methods: declared)
            }
            return API(prefix: prefix, routes: routes, format: api.format)
        }.sorted { $0.prefix.count > $1.prefix.count }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            // The router folds empty segments (`/v1//jobs`); so does this.
            let segments = request.uri.path.split(separator: "/")
            guard let api = apis.first(where: { segments.starts(with: $0.prefix.map { Substring($0) }) }) ?? apis.last else { throw error }
            guard let route = api.routes.first(where: { route in
                route.segments.count == segments.count && zip(route.segments, segments).allSatisfy { $0 == nil || $0! == $1 }
            }) else {
                return Self.response(api.format.render(RefusalAnswer(status: .notFound, message: "no such path; \(api.prefix.isEmpty ? "" : "/" + api.prefix.joined(separator: "/"))/openapi.yaml lists every path of this API")))
            }
            let allowed = route.methods.joined(separator: ", ")
            var (head, body) = api.format.render(RefusalAnswer(status: .methodNotAllowed, message: "\(request.method.rawValue) is not a method of this path; use \(allowed)"))
            head.headerFields[.allow] = allowed
            return Self.response((head, body))
        }
    }

    /// A rendered error as the router's response.
    static func response(_ answer: (head: HTTPResponse, body: String)) -> Response {
        Response(status: answer.head.status, headers: answer.head.headerFields, body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }
}
