import HTTPTypes
import Hummingbird

/// The headers every web page and static file is answered with.
///
/// The Content-Security-Policy allows scripts, styles and fetches only from this origin, and no inline
/// script or style at all, so markup that slipped past the templates' escaping could still not run. Pages
/// hold a group's data, so they are not cached, not framed (clickjacking), and send a Referer only to
/// this site (with `no-referrer`, browsers send `Origin: null` on a same-site form POST, and the Origin
/// check needs the real one).
struct WebPageHeaders<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "same-origin"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.init("Cross-Origin-Opener-Policy")!] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
