import Foundation
import HPCBridge
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The web pages under `/ui`: server-rendered HTML from the same `JobService` the APIs use, so a page
/// shows exactly what `/v1` answers and refuses what it refuses, in the same words.
///
/// A visitor signs in once with an API token (`POST /ui/sign-in`), which becomes a session cookie
/// (`WebSessions`: HttpOnly, SameSite=Strict, Path=/ui, Secure over TLS, with an expiry); every later
/// page checks that token again. Every form carries the session's CSRF token and every POST also has its
/// Origin checked. Another group's run or job answers as a missing one does (404), as on the API.
struct WebUI: Sendable {
    let service: JobService
    let assets: WebAssets
    let logger: Logger

    static let sessionCookie = "hpcbridge_session"
    /// Before sign-in there is no session to hold a CSRF token: the sign-in form's token is a cookie of its
    /// own, compared with the form's copy (double submit), so another site cannot sign a browser in.
    static let signInCookie = "hpcbridge_signin"
    /// Forms are small; a sample sheet of 1,000 rows is well under this.
    static let maximumFormBytes = 4 << 20

    init(service: JobService, logger: Logger) throws {
        self.service = service
        self.assets = try WebAssets.load()
        self.logger = logger
    }

    func register(on router: Router<BasicRequestContext>) {
        let ui = router.group("ui").add(middleware: WebPageHeaders())
        ui.get { request, _ in try await self.home(request) }
        ui.get("static/:file") { _, context in self.staticFile(context.parameters.get("file") ?? "") }
        ui.get("sign-in") { request, _ in self.signInPage(request, error: nil, status: .ok) }
        ui.post("sign-in") { request, _ in try await self.signIn(request) }
        ui.post("sign-out") { request, _ in try await self.signOut(request) }
        ui.get("dashboard") { request, _ in try await self.page(request) { try await self.dashboard(request, $0) } }
        ui.get("runs/:id") { request, context in try await self.page(request) { try await self.runPage(self.id(context), $0) } }
        ui.post("runs/:id/cancel") { request, context in
            try await self.action(request) { visitor, _ in
                let id = try self.id(context)
                _ = try await self.service.cancelRun(id, by: visitor.principal)
                return "/ui/runs/\(id.uuidString.lowercased())"
            }
        }
        ui.post("runs/:id/resume") { request, context in
            try await self.action(request) { visitor, _ in
                let id = try self.id(context)
                _ = try await self.service.resumeRun(id, by: visitor.principal)
                return "/ui/runs/\(id.uuidString.lowercased())"
            }
        }
        ui.get("runs/:id/tasks/:step/:index/log") { request, context in
            try await self.page(request) { visitor in
                guard let index = Int(context.parameters.get("index") ?? "") else { throw JobService.Refusal.notFound("no such task") }
                return try await self.taskLogPage(self.id(context), step: context.parameters.get("step") ?? "", index: index, visitor)
            }
        }
        ui.get("jobs/:id") { request, context in try await self.page(request) { try await self.jobPage(self.id(context), $0) } }
        ui.post("jobs/:id/cancel") { request, context in
            try await self.action(request) { visitor, _ in
                let id = try self.id(context)
                _ = try await self.service.cancel(id, by: visitor.principal)
                return "/ui/jobs/\(id.uuidString.lowercased())"
            }
        }
        ui.get("jobs/:id/log-stream") { request, context in
            try await self.stream(request) { visitor in try await self.service.logStream(try self.id(context), lines: 200, for: visitor.principal) }
        }
        ui.get("events") { request, _ in
            try await self.stream(request) { visitor in
                let query = request.uri.queryParameters
                return try await self.service.eventStream(for: visitor.principal, lastEventID: request.headers[.init("Last-Event-ID")!], jobID: query.get("job").flatMap(UUID.init(uuidString:)),
                                                          runID: query.get("run").flatMap(UUID.init(uuidString:)))
            }
        }
        ui.get("pipelines") { request, _ in try await self.page(request) { self.pipelinesPage($0) } }
        ui.get("pipelines/:name") { request, context in
            try await self.page(request) { try self.pipelinePage(context.parameters.get("name") ?? "", $0, submitted: nil) }
        }
        ui.post("pipelines/:name") { request, context in try await self.submit(request, pipeline: context.parameters.get("name") ?? "") }
        ui.get("admin") { request, _ in
            try await self.page(request) { visitor in
                guard visitor.principal == .admin else { throw JobService.Refusal.notFound("no such page") }
                return try await self.adminPage(visitor)
            }
        }
        // Whatever else is under /ui is a missing page, in HTML (the API's answer would be JSON).
        ui.get("**") { request, _ in try await self.page(request) { _ in throw JobService.Refusal.notFound("there is no page at this address") } }
        ui.post("**") { _, _ in self.html("error", ["heading": "Not found", "message": "there is no form at this address"], status: .notFound) }
    }

    // MARK: Sessions

    /// A signed-in visitor.
    struct Visitor: Sendable {
        let session: WebSessions.Session
        let cookie: String

        var principal: APITokens.Principal { session.principal }
        var group: String? { if case .group(let name) = principal { name } else { nil } }
        var label: String { group.map { "research group \($0)" } ?? "admin" }

        /// What the layout shows of the visitor; `current` marks the navigation entry of the page.
        func layout(_ current: String? = nil) -> [String: Any] {
            var values: [String: Any] = ["principalLabel": label, "csrf": session.csrfToken, "isAdmin": principal == .admin]
            if let current { values["on" + current] = true }
            return values
        }
    }

    /// The visitor a request's session cookie names, or nil.
    func visitor(_ request: Request) async throws -> Visitor? {
        guard let cookie = request.cookies[Self.sessionCookie]?.value else { return nil }
        let config = service.site.config
        guard let session = try await service.storeCall({ store in try WebSessions(store: store).session(cookie: cookie, declaredIn: config) }) else { return nil }
        return Visitor(session: session, cookie: cookie)
    }

    /// A page for a signed-in visitor; others are sent to sign in, and come back after. The service's
    /// refusals become pages with the API's words and statuses.
    func page(_ request: Request, _ body: (Visitor) async throws -> Response) async throws -> Response {
        let visitor: Visitor?
        do { visitor = try await self.visitor(request) } catch { return refusalPage(error, visitor: nil) }
        guard let visitor else {
            var next = request.uri.path
            if let query = request.uri.query, !query.isEmpty { next += "?" + query }
            return .redirect(to: "/ui/sign-in?next=" + Self.queryEscaped(next), type: .normal)
        }
        do { return try await body(visitor) } catch { return refusalPage(error, visitor: visitor) }
    }

    /// A POST from a signed-in visitor, from this site (Origin), carrying the session's CSRF token; or
    /// the answer to give instead.
    enum CheckedPost {
        case accepted(Visitor, WebForm)
        case answer(Response)
    }

    func checkedPost(_ request: Request, signInTarget: String = "/ui/sign-in") async -> CheckedPost {
        let visitor: Visitor?
        do { visitor = try await self.visitor(request) } catch { return .answer(refusalPage(error, visitor: nil)) }
        guard let visitor else { return .answer(.redirect(to: signInTarget, type: .normal)) }
        let form: WebForm
        switch await readForm(request) {
        case .success(let read): form = read
        case .failure(let refusal): return .answer(refusalPage(refusal, visitor: visitor))
        }
        guard sameOrigin(request), let sent = form.value("_csrf"), WebSessions.sameSecret(sent, visitor.session.csrfToken) else {
            return .answer(html("error", ["heading": "Form expired", "message": "this form was not sent from a page of this session; open the page again and resend it",
                                          "visitor": visitor.layout()], status: .forbidden))
        }
        return .accepted(visitor, form)
    }

    /// A form's POST that passed `checkedPost`; `body` returns where to go next (303).
    func action(_ request: Request, _ body: (Visitor, WebForm) async throws -> String) async throws -> Response {
        let visitor: Visitor, form: WebForm
        switch await checkedPost(request) {
        case .accepted(let signedIn, let sent): (visitor, form) = (signedIn, sent)
        case .answer(let response): return response
        }
        do { return .redirect(to: try await body(visitor, form), type: .normal) } catch { return refusalPage(error, visitor: visitor) }
    }

    /// An event stream for a signed-in visitor (the pages' script follows it).
    func stream(_ request: Request, _ open: (Visitor) async throws -> AsyncStream<String>) async throws -> Response {
        guard let visitor = try? await self.visitor(request) else { return Response(status: .unauthorized) }
        do {
            let events = try await open(visitor)
            let body = ResponseBody(asyncSequence: events.map { ByteBuffer(string: $0) })
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
        } catch {
            return refusalPage(error, visitor: visitor)
        }
    }

    func home(_ request: Request) async throws -> Response {
        let signedIn = (try? await visitor(request)) != nil
        return .redirect(to: signedIn ? "/ui/dashboard" : "/ui/sign-in", type: .normal)
    }

    func signInPage(_ request: Request, error: String?, status: HTTPResponse.Status) -> Response {
        let nonce = WebSessions.randomToken()
        let next = Self.localPath(request.uri.queryParameters.get("next")) ?? "/ui/dashboard"
        var values: [String: Any] = ["csrf": nonce, "next": next]
        if let error { values["error"] = error }
        var response = html("sign-in", values, status: status)
        response.setCookie(cookie(Self.signInCookie, nonce, maxAge: 3600, path: "/ui/sign-in", for: request))
        return response
    }

    func signIn(_ request: Request) async throws -> Response {
        guard case .success(let form) = await readForm(request) else { return signInPage(request, error: "the form could not be read; send it again", status: .badRequest) }
        guard sameOrigin(request), let sent = form.value("_csrf"), let cookie = request.cookies[Self.signInCookie]?.value,
              WebSessions.sameSecret(sent, cookie) else {
            return signInPage(request, error: "the sign-in form expired; enter the token again", status: .forbidden)
        }
        let presented = BearerAuthMiddleware.trimmed(Substring(form.value("token") ?? ""))
        let config = service.site.config
        let lifetime = config.webSessionSeconds
        let created: (cookie: String, session: WebSessions.Session)?
        do {
            created = try await service.storeCall { store in
                guard let found = try APITokens(store: store).authenticateWithReference(presented, declaredIn: config) else { return nil }
                return try WebSessions(store: store).create(principal: found.principal, reference: found.reference, lifetime: lifetime)
            }
        } catch {
            return refusalPage(error, visitor: nil)
        }
        guard let created else {
            logger.info("web sign-in refused: unknown, malformed or revoked token")
            return signInPage(request, error: "that token is unknown, malformed or revoked; ask an admin for a new one (`hpcbridge token create`)", status: .unauthorized)
        }
        let next = Self.localPath(form.value("next")) ?? "/ui/dashboard"
        var response = Response.redirect(to: next, type: .normal)
        response.setCookie(self.cookie(Self.sessionCookie, created.cookie, maxAge: Int(lifetime), path: "/ui", for: request))
        response.setCookie(self.cookie(Self.signInCookie, "", maxAge: 0, path: "/ui/sign-in", for: request))
        return response
    }

    func signOut(_ request: Request) async throws -> Response {
        var response = try await action(request) { visitor, _ in
            try await self.service.storeCall { try WebSessions(store: $0).delete(cookie: visitor.cookie) }
            return "/ui/sign-in"
        }
        if response.status == .seeOther {
            response.setCookie(cookie(Self.sessionCookie, "", maxAge: 0, path: "/ui", for: request))
        }
        return response
    }

    // MARK: Answers

    func html(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: assets.render(template, context))))
    }

    func staticFile(_ name: String) -> Response {
        guard let file = assets.files[name] else { return Response(status: .notFound) }
        return Response(status: .ok, headers: [.contentType: file.type, .cacheControl: "public, max-age=300"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }

    /// A refusal as a page: another group's object is "not found", as a missing one is.
    func refusalPage(_ error: any Error, visitor: Visitor?) -> Response {
        var values: [String: Any] = [:]
        if let visitor { values["visitor"] = visitor.layout() }
        let status: HTTPResponse.Status
        let heading: String
        let message: String
        switch error {
        case let refusal as JobService.Refusal:
            switch refusal {
            case .notFound(let detail), .forbidden(let detail):
                values["message"] = Self.pageWords(detail)
                return html("not-found", values, status: .notFound)
            case .conflict(let detail): (status, heading, message) = (.conflict, "Not possible now", detail)
            case .invalid: (status, heading, message) = (.badRequest, "Not accepted", refusal.description)
            case .overQuota(let detail, _): (status, heading, message) = (.tooManyRequests, "Over the group's quota", detail)
            case .unavailable(let detail, _): (status, heading, message) = (.serviceUnavailable, "Unavailable", detail)
            }
        case let refusal as PageRefusal:
            (status, heading, message) = (refusal.status, refusal.heading, refusal.message)
        default:
            logger.error("web page failed", metadata: ["error": "\(error)"])
            (status, heading, message) = (.internalServerError, "Something went wrong", "the page could not be built; the service log has the details")
        }
        values["heading"] = heading
        values["message"] = message
        return html("error", values, status: status)
    }

    /// The API's words, without the pointers to API routes that mean nothing on a page.
    static func pageWords(_ detail: String) -> String {
        detail.components(separatedBy: "; GET /v1").first ?? detail
    }

    /// A request the pages refuse before the service sees it (an unreadable or oversized form).
    struct PageRefusal: Error {
        var status: HTTPResponse.Status
        var heading = "Not accepted"
        var message: String
    }

    // MARK: Requests

    func id(_ context: BasicRequestContext) throws -> UUID {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text) else {
            throw JobService.Refusal.notFound("no such run or job")
        }
        return id
    }

    /// The form of a POST, read within the body timeout and the size limit, as the APIs read theirs.
    func readForm(_ request: Request) async -> Result<WebForm, PageRefusal> {
        let collected = await SubmitRequestMiddleware.collect(limit: Self.maximumFormBytes, within: service.site.config.httpBodyTimeoutSeconds) {
            var reading = request
            return Data(buffer: try await reading.collectBody(upTo: Self.maximumFormBytes))
        }
        guard case .complete(let bytes) = collected else {
            let refusal = collected.refusal!
            return .failure(PageRefusal(status: refusal.status, message: refusal.message))
        }
        do {
            return .success(try WebForm.parse(Array(bytes), contentType: request.headers[.contentType]))
        } catch {
            return .failure(PageRefusal(status: .unsupportedMediaType, message: error.description))
        }
    }

    /// A POST whose Origin (or, without one, Referer) names another site is refused. Browsers send Origin
    /// with every POST; SameSite=Strict and the CSRF token are the other two locks. The site is the
    /// request's Host, or the configured public URL's (behind a proxy that rewrites Host).
    func sameOrigin(_ request: Request) -> Bool {
        guard let claimed = request.headers[.origin] ?? request.headers[.referer] else { return true }
        guard let url = URL(string: claimed), let claimedHost = url.host?.lowercased() else { return false }
        let claimedAuthority = claimedHost + (url.port.map { ":\($0)" } ?? "")
        if let host = request.head.authority?.lowercased(), host == claimedAuthority { return true }
        if let publicURL = service.site.config.publicURL.flatMap(URL.init(string:)), let publicHost = publicURL.host?.lowercased() {
            return publicHost + (publicURL.port.map { ":\($0)" } ?? "") == claimedAuthority
        }
        return false
    }

    /// Every cookie of the pages: HttpOnly (no script reads it), SameSite=Strict (no other site's page
    /// sends it), and Secure over TLS, behind a proxy that says so, or when the public URL is https.
    /// `maxAge` 0 deletes it.
    func cookie(_ name: String, _ value: String, maxAge: Int, path: String, for request: Request) -> Cookie {
        let secure = request.head.clientScheme == "https" || service.site.config.publicURL?.lowercased().hasPrefix("https://") == true
        return Cookie(name: name, value: value, maxAge: maxAge, path: path, secure: secure, httpOnly: true, sameSite: .strict)
    }

    /// A `next` target only within the pages (no other site, no `//host`).
    static func localPath(_ path: String?) -> String? {
        guard let path, path.hasPrefix("/ui/"), !path.hasPrefix("//"), !path.contains("\\"), !path.contains("\r"), !path.contains("\n") else { return nil }
        return path
    }

    static func queryEscaped(_ text: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
