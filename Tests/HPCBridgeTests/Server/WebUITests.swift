import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import HPCBridge
@testable import HPCBridgeServer

/// The web pages in process, on the in-memory scheduler: sign-in and its session cookie, the CSRF and
/// Origin locks, the security headers, pages another group cannot see, and a submission from the form
/// generated from a pipeline's schema. The browser tests (`WebUIBrowserTests`) drive the same pages in
/// Chromium against the live cluster.
@Suite("HTTP: web pages")
struct WebUITests {
    struct Page {
        let status: Int
        let headers: HTTPFields
        let text: String
        var location: String? { headers[.location] }
        /// The value a Set-Cookie header gives `name`, with the header's whole text.
        func cookie(_ name: String) -> (value: String, header: String)? {
            for header in headers[values: .setCookie] where header.hasPrefix(name + "=") {
                let value = header.dropFirst(name.count + 1).prefix { $0 != ";" }
                return (String(value), header)
            }
            return nil
        }
        /// The first `name="_csrf" value="..."` of the page.
        var csrf: String? { Self.attribute(after: "name=\"_csrf\" value=\"", in: text) }
        var idempotencyKey: String? { Self.attribute(after: "name=\"_idempotency_key\" value=\"", in: text) }
        static func attribute(after marker: String, in text: String) -> String? {
            guard let range = text.range(of: marker) else { return nil }
            return String(text[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    func call(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, cookies: [String: String] = [:],
              form: [(String, String)]? = nil, headers extra: HTTPFields = [:]) async throws -> Page {
        var headers = extra
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        var body: ByteBuffer?
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            body = ByteBuffer(string: form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&"))
        }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
        return Page(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    /// Signs `token` in and returns the session cookie's value.
    func signIn(_ client: any TestClientProtocol, token: String) async throws -> String {
        let form = try await call(client, .get, "/ui/sign-in")
        let nonce = try #require(form.cookie(WebUI.signInCookie)?.value)
        let answer = try await call(client, .post, "/ui/sign-in", cookies: [WebUI.signInCookie: nonce],
                                    form: [("_csrf", try #require(form.csrf)), ("next", "/ui/dashboard"), ("token", token)])
        #expect(answer.status == 303, "\(answer.text)")
        return try #require(answer.cookie(WebUI.sessionCookie)?.value)
    }

    @Test("sign-in: a token becomes an HttpOnly, SameSite=Strict session cookie with an expiry; bad tokens and forged forms are refused; sign-out ends it")
    func signInAndOut() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            // Without a session every page sends the visitor to sign in, and back afterwards.
            let away = try await call(client, .get, "/ui/dashboard?state=failed")
            #expect(away.status == 303)
            #expect(away.location == "/ui/sign-in?next=/ui/dashboard%3Fstate%3Dfailed")

            let form = try await call(client, .get, "/ui/sign-in?next=/ui/pipelines")
            #expect(form.status == 200)
            #expect(form.text.contains("value=\"/ui/pipelines\""))
            let nonce = try #require(form.cookie(WebUI.signInCookie))
            #expect(nonce.header.contains("HttpOnly") && nonce.header.contains("SameSite=Strict"))
            let csrf = try #require(form.csrf)
            #expect(csrf == nonce.value)

            // A form posted without its cookie (another site's form) is refused, token or not.
            let forged = try await call(client, .post, "/ui/sign-in", form: [("_csrf", csrf), ("token", token)])
            #expect(forged.status == 403)
            #expect(forged.cookie(WebUI.sessionCookie) == nil)
            // A cross-site Origin is refused even with the cookie.
            let crossSite = try await call(client, .post, "/ui/sign-in", cookies: [WebUI.signInCookie: csrf], form: [("_csrf", csrf), ("token", token)],
                                           headers: [.origin: "https://evil.example"])
            #expect(crossSite.status == 403)

            let wrong = try await call(client, .post, "/ui/sign-in", cookies: [WebUI.signInCookie: csrf], form: [("_csrf", csrf), ("token", token + "x")])
            #expect(wrong.status == 401)
            #expect(wrong.text.contains("unknown, malformed or revoked"))
            #expect(!wrong.text.contains(token), "the page echoes the token")

            // An open redirect is not possible: `next` stays within /ui.
            let signedIn = try await call(client, .post, "/ui/sign-in", cookies: [WebUI.signInCookie: csrf],
                                          form: [("_csrf", csrf), ("next", "//evil.example/ui/"), ("token", token)])
            #expect(signedIn.status == 303)
            #expect(signedIn.location == "/ui/dashboard")
            let session = try #require(signedIn.cookie(WebUI.sessionCookie))
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=28800"] {
                #expect(session.header.contains(attribute), "\(session.header) lacks \(attribute)")
            }
            #expect(!session.header.contains("Secure"), "plain HTTP without a proxy saying https gets no Secure cookie")
            #expect(!session.value.contains(token) && session.value.count == 43)
            let stored = try await service.store.pool.read { db in try String.fetchAll(db, sql: "SELECT cookieHash FROM webSession") }
            #expect(stored == [WebSessions.hash(session.value)], "the store keeps only the cookie's hash")

            let dashboard = try await call(client, .get, "/ui/dashboard", cookies: [WebUI.sessionCookie: session.value])
            #expect(dashboard.status == 200)
            #expect(dashboard.text.contains("Research group cancer_genomics_lab"))
            #expect(!dashboard.text.contains(token))

            // Behind a TLS proxy the cookie is Secure.
            let viaProxy = try await signInResponse(client, token: token, headers: [.init("X-Forwarded-Proto")!: "https"])
            #expect(viaProxy.cookie(WebUI.sessionCookie)?.header.contains("Secure") == true)

            // Sign-out needs the session's CSRF token, then the cookie opens nothing.
            let refused = try await call(client, .post, "/ui/sign-out", cookies: [WebUI.sessionCookie: session.value], form: [("_csrf", "forged")])
            #expect(refused.status == 403)
            let out = try await call(client, .post, "/ui/sign-out", cookies: [WebUI.sessionCookie: session.value], form: [("_csrf", try #require(dashboard.csrf))])
            #expect(out.status == 303)
            #expect(out.location == "/ui/sign-in")
            #expect(out.cookie(WebUI.sessionCookie)?.header.contains("Max-Age=0") == true)
            let after = try await call(client, .get, "/ui/dashboard", cookies: [WebUI.sessionCookie: session.value])
            #expect(after.status == 303, "a signed-out cookie still opened the dashboard")
        }
        #expect(!service.logs.all.contains { $0.contains(token) }, "the token reached the log")
    }

    private func signInResponse(_ client: any TestClientProtocol, token: String, headers: HTTPFields) async throws -> Page {
        let form = try await call(client, .get, "/ui/sign-in", headers: headers)
        let nonce = try #require(form.csrf)
        return try await call(client, .post, "/ui/sign-in", cookies: [WebUI.signInCookie: nonce], form: [("_csrf", nonce), ("token", token)], headers: headers)
    }

    @Test("revoking the token ends its sessions at the next page; an expired session opens nothing")
    func revocationAndExpiry() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let cookie = try await signIn(client, token: token)
            #expect(try await call(client, .get, "/ui/pipelines", cookies: [WebUI.sessionCookie: cookie]).status == 200)
            let id = try #require(APITokens.parse(token)?.id)
            try APITokens(store: service.store).revoke(id: id)
            #expect(try await call(client, .get, "/ui/pipelines", cookies: [WebUI.sessionCookie: cookie]).status == 303)

            let other = try service.token(group: "systems_biology_lab")
            let second = try await signIn(client, token: other)
            try await service.store.pool.write { db in try db.execute(sql: "UPDATE webSession SET expiresAt = 0") }
            #expect(try await call(client, .get, "/ui/pipelines", cookies: [WebUI.sessionCookie: second]).status == 303)
        }
    }

    @Test("every page has the CSP without inline script or style, and no token; static files are served")
    func securityHeaders() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let token = try service.token(group: "cancer_genomics_lab")
        let admin = try service.token(group: nil)
        try await service.withClient { client in
            let cookie = try await signIn(client, token: token)
            let adminCookie = try await signIn(client, token: admin)
            let pages = [("/ui/sign-in", [String: String]()), ("/ui/dashboard", [WebUI.sessionCookie: cookie]),
                         ("/ui/pipelines", [WebUI.sessionCookie: cookie]), ("/ui/pipelines/germline_cohort", [WebUI.sessionCookie: cookie]),
                         ("/ui/pipelines/gatk_variant_calling", [WebUI.sessionCookie: cookie]), ("/ui/admin", [WebUI.sessionCookie: adminCookie]),
                         ("/ui/no/such/page", [WebUI.sessionCookie: cookie])]
            for (path, cookies) in pages {
                let page = try await call(client, .get, path, cookies: cookies)
                let csp = try #require(page.headers[.contentSecurityPolicy], "\(path)")
                #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"), "\(path): \(csp)")
                #expect(page.headers[.xContentTypeOptions] == "nosniff")
                #expect(page.headers[.cacheControl] == "no-store", "\(path)")
                #expect(!page.text.contains(" style=") && !page.text.contains("<style"), "\(path) has an inline style")
                for script in page.text.components(separatedBy: "<script").dropFirst() {
                    #expect(script.hasPrefix(" src=\"/ui/static/") && script.contains("></script>"), "\(path) has an inline script: \(script.prefix(80))")
                }
                #expect(!page.text.contains(token) && !page.text.contains(admin), "\(path) shows a token")
                #expect(page.text.contains("<html lang=\"en\">"))
            }
            #expect(try await call(client, .get, "/ui/no/such/page", cookies: [WebUI.sessionCookie: cookie]).status == 404)
            let script = try await call(client, .get, "/ui/static/hpcbridge.js")
            #expect(script.status == 200 && script.headers[.contentType]?.hasPrefix("text/javascript") == true)
            #expect(script.text.contains("EventSource"))
            #expect(try await call(client, .get, "/ui/static/hpcbridge.css").status == 200)
            #expect(try await call(client, .get, "/ui/static/nothing.js").status == 404)
        }
    }

    @Test("every input has a label, and described inputs point at their descriptions")
    func labels() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let admin = try service.token(group: nil)
        try await service.withClient { client in
            let cookie = try await signIn(client, token: admin)
            for name in service.site.catalog.pipelines.keys.sorted() {
                let page = try await call(client, .get, "/ui/pipelines/\(name)", cookies: [WebUI.sessionCookie: cookie])
                var checked = 0
                for tag in ["<input ", "<select ", "<textarea "] {
                    for element in page.text.components(separatedBy: tag).dropFirst() {
                        let attributes = String(element.prefix { $0 != ">" })
                        if attributes.contains("type=\"hidden\"") { continue }
                        let id = try #require(Page.attribute(after: "id=\"", in: attributes), "\(name): an input without an id: \(attributes)")
                        #expect(page.text.contains("<label for=\"\(id)\""), "\(name): no label for \(id)")
                        if let described = Page.attribute(after: "aria-describedby=\"", in: attributes) {
                            for target in described.split(separator: " ") { #expect(page.text.contains("id=\"\(target)\""), "\(name): \(id) describedby \(target) missing") }
                        }
                        checked += 1
                    }
                }
                #expect(checked >= 4, "\(name): only \(checked) inputs")
            }
        }
    }

    @Test("another group's run and job answer exactly as missing ones; a group cannot open the admin page")
    func otherGroups() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let mine = try service.token(group: "cancer_genomics_lab")
        let theirs = try service.token(group: "systems_biology_lab")
        let accepted = try await service.assembly.service.submit(
            JobRequest(pipelineName: "gatk_variant_calling", parameters: ["sample_id": "S1", "reference_genome": "hg38", "fastq_r1": "/data/cancer_genomics_lab/S1_1.fq", "fastq_r2": "/data/cancer_genomics_lab/S1_2.fq"],
                       researchGroup: "cancer_genomics_lab"),
            by: .group("cancer_genomics_lab"), idempotencyKey: nil)
        let id = accepted.job.id.uuidString.lowercased()
        try await service.withClient { client in
            let own = try await signIn(client, token: mine)
            let other = try await signIn(client, token: theirs)
            let page = try await call(client, .get, "/ui/jobs/\(id)", cookies: [WebUI.sessionCookie: own])
            #expect(page.status == 200)
            #expect(page.text.contains("sha256:\(accepted.job.scriptDigest)"))
            #expect(page.text.contains("S1"))
            let hidden = try await call(client, .get, "/ui/jobs/\(id)", cookies: [WebUI.sessionCookie: other])
            let missing = try await call(client, .get, "/ui/jobs/\(UUID().uuidString.lowercased())", cookies: [WebUI.sessionCookie: other])
            #expect(hidden.status == 404 && missing.status == 404)
            #expect(Self.withoutIDs(hidden.text) == Self.withoutIDs(missing.text), "another group's job is told apart from a missing one")
            let runHidden = try await call(client, .get, "/ui/runs/\(id)", cookies: [WebUI.sessionCookie: other])
            #expect(runHidden.status == 404)
            // Cancelling another group's job is refused as missing, and leaves it alone.
            let cancel = try await call(client, .post, "/ui/jobs/\(id)/cancel", cookies: [WebUI.sessionCookie: other],
                                        form: [("_csrf", try #require(hidden.csrf))])
            #expect(cancel.status == 404)
            #expect(try service.store.job(accepted.job.id)?.state != .cancelled)
            #expect(try await call(client, .get, "/ui/admin", cookies: [WebUI.sessionCookie: own]).status == 404)
            // The dashboard lists only the group's own jobs.
            #expect(try await call(client, .get, "/ui/dashboard", cookies: [WebUI.sessionCookie: own]).text.contains(String(id.prefix(8))))
            #expect(!(try await call(client, .get, "/ui/dashboard", cookies: [WebUI.sessionCookie: other]).text.contains(String(id.prefix(8)))))
        }
    }

    static func withoutIDs(_ text: String) -> String {
        text.replacingOccurrences(of: "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", with: "ID", options: .regularExpression)
            .replacingOccurrences(of: "value=\"[A-Za-z0-9_-]{43}\"", with: "value=\"TOKEN\"", options: .regularExpression)
    }

    @Test("the generated form: the service's messages beside each field, the values kept; a valid form submits once per page and cancel works")
    func submitFromForm() async throws {
        let scheduler = FakeScheduler()
        let service = try TestService(scheduler: scheduler)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            let cookie = try await signIn(client, token: token)
            let page = try await call(client, .get, "/ui/pipelines/gatk_variant_calling", cookies: [WebUI.sessionCookie: cookie])
            #expect(page.text.contains("<select id=\"f-reference_genome\" name=\"reference_genome\" required"))
            #expect(page.text.contains("name=\"depth_threshold\" type=\"text\" inputmode=\"numeric\""))
            let csrf = try #require(page.csrf)
            let bad = try await call(client, .post, "/ui/pipelines/gatk_variant_calling", cookies: [WebUI.sessionCookie: cookie], form: [
                ("_csrf", csrf), ("sample_id", "bad id!"), ("reference_genome", "hg38"), ("fastq_r1", "relative.fq"),
                ("fastq_r2", "/data/cancer_genomics_lab/S1_2.fq"), ("depth_threshold", "twelve"), ("_cpus", "999"),
            ])
            #expect(bad.status == 422)
            for (field, words) in [("sample_id", "starting with a letter or digit"), ("fastq_r1", "must be an absolute path"), ("depth_threshold", "whole number"), ("_cpus", "")] {
                #expect(bad.text.contains("id=\"e-\(field)\""), "no error beside \(field)")
                if !words.isEmpty { #expect(bad.text.contains(words), "\(field): \(words)") }
                #expect(bad.text.contains("aria-describedby=\"d-\(field) e-\(field)\""), "\(field)'s input does not point at its error")
            }
            #expect(bad.text.contains("value=\"bad id!\""), "the typed value was not kept")
            #expect(try service.store.jobs(.init()).jobs.isEmpty, "a refused form stored a job")

            let fresh = try await call(client, .get, "/ui/pipelines/gatk_variant_calling", cookies: [WebUI.sessionCookie: cookie])
            let fields: [(String, String)] = [
                ("_csrf", csrf), ("_idempotency_key", try #require(fresh.idempotencyKey)), ("sample_id", "S1"), ("reference_genome", "hg38"),
                ("fastq_r1", "/data/cancer_genomics_lab/S1_1.fq"), ("fastq_r2", "/data/cancer_genomics_lab/S1_2.fq"), ("depth_threshold", "12"),
                ("_description", "from the form"),
            ]
            let good = try await call(client, .post, "/ui/pipelines/gatk_variant_calling", cookies: [WebUI.sessionCookie: cookie], form: fields)
            #expect(good.status == 303, "\(good.text)")
            let location = try #require(good.location)
            #expect(location.hasPrefix("/ui/jobs/"))
            // The same page sent twice (a double click) is one job.
            let again = try await call(client, .post, "/ui/pipelines/gatk_variant_calling", cookies: [WebUI.sessionCookie: cookie], form: fields)
            #expect(again.location == location)
            let jobs = try service.store.jobs(.init()).jobs
            #expect(jobs.count == 1)
            #expect(jobs.first?.description == "from the form")
            #expect(try JSONValue.parse(jobs[0].parametersJSON)["depth_threshold"] == .number(12))

            let jobPage = try await call(client, .get, location, cookies: [WebUI.sessionCookie: cookie])
            #expect(jobPage.text.contains("id=\"cancel-job\""))
            let cancelled = try await call(client, .post, location + "/cancel", cookies: [WebUI.sessionCookie: cookie], form: [("_csrf", csrf)])
            #expect(cancelled.status == 303)
            // Submitted at once on the in-memory scheduler: the cancel goes to the scheduler, by its id.
            let native = try #require(try service.store.job(jobs[0].id)?.nativeJobID)
            #expect(await scheduler.cancelled.map(\.rawValue) == [native])
        }
    }

    @Test("the dashboard: counts by state, newest first, filters by state, pipeline and date, and pages of 25 jobs")
    func dashboardFiltersAndPages() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let token = try service.token(group: "cancer_genomics_lab")
        var ids: [UUID] = []
        for index in 0..<30 {
            let submitted = try await service.assembly.service.submit(
                JobRequest(pipelineName: "gatk_variant_calling", parameters: ["sample_id": .string("S\(index)"), "reference_genome": "hg38",
                                                                             "fastq_r1": "/data/cancer_genomics_lab/S_1.fq", "fastq_r2": "/data/cancer_genomics_lab/S_2.fq"],
                           researchGroup: "cancer_genomics_lab"),
                by: .group("cancer_genomics_lab"), idempotencyKey: nil, now: Date(timeIntervalSince1970: 1_800_000_000 + Double(index)))
            ids.append(submitted.job.id)
        }
        for id in ids.prefix(2) {
            _ = try service.store.update(id, source: "test", reason: "cancelled for the filter") { $0.state = .cancelled }
        }
        let submitted = ids
        @Sendable func rows(_ text: String) -> [String] {
            guard let table = text.components(separatedBy: "<table class=\"list\" id=\"jobs\">").dropFirst().first?.components(separatedBy: "</table>").first else { return [] }
            return table.components(separatedBy: "<a href=\"/ui/jobs/").dropFirst().map { String($0.prefix(36)) }
        }
        try await service.withClient { client in
            let cookie = try await signIn(client, token: token)
            let first = try await call(client, .get, "/ui/dashboard", cookies: [WebUI.sessionCookie: cookie])
            let page = rows(first.text)
            #expect(page.count == 25)
            #expect(page.first == submitted.last?.uuidString.lowercased(), "not newest first")
            let older = try #require(Page.attribute(after: "<a rel=\"next\" href=\"", in: first.text))
            #expect(older.contains("jobs_after="))
            let second = try await call(client, .get, older.replacingOccurrences(of: "&amp;", with: "&"), cookies: [WebUI.sessionCookie: cookie])
            #expect(rows(second.text) == submitted.prefix(5).reversed().map { $0.uuidString.lowercased() }, "the second page is not the five oldest")
            #expect(first.text.contains("state-cancelled\" href=\"/ui/dashboard?state=cancelled\">cancelled <strong>2</strong>"))

            let cancelled = try await call(client, .get, "/ui/dashboard?state=cancelled", cookies: [WebUI.sessionCookie: cookie])
            #expect(Set(rows(cancelled.text)) == Set(submitted.prefix(2).map { $0.uuidString.lowercased() }))
            #expect(cancelled.text.contains("<option value=\"cancelled\" selected>"))
            let otherPipeline = try await call(client, .get, "/ui/dashboard?pipeline=rnaseq_deseq2", cookies: [WebUI.sessionCookie: cookie])
            #expect(rows(otherPipeline.text).isEmpty && otherPipeline.text.contains("No jobs match."))
            let later = try await call(client, .get, "/ui/dashboard?since=2030-01-01", cookies: [WebUI.sessionCookie: cookie])
            #expect(rows(later.text).isEmpty)
            let bad = try await call(client, .get, "/ui/dashboard?since=yesterday", cookies: [WebUI.sessionCookie: cookie])
            #expect(bad.text.contains("must be a date such as"))
        }
    }
}
