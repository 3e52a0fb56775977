import Foundation
import Testing
@testable import HPCBridge

/// Hostile input through the web pages' forms of a real `serve` process: oversized, malformed and
/// mistyped bodies, forged forms, invalid UTF-8, NUL bytes, the injection corpus in a parameter, and
/// hostile sign-ins. Every answer is a page with a 3xx or 4xx status (never a 5xx, never a hang), the
/// service stays up, and no refused form stores a job.
@Suite("Reliability: hostile web forms", .enabled(if: LiveCluster.enabled), .serialized)
struct ReliabilityWebFormTests {
    static func request(_ bytes: [UInt8], path: String, cookie: String?, contentType: String?, origin: String? = nil) -> [UInt8] {
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(bytes.count)\r\n"
        if let cookie { head += "Cookie: \(cookie)\r\n" }
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        if let origin { head += "Origin: \(origin)\r\n" }
        return Array((head + "\r\n").utf8) + bytes
    }

    static func get(_ path: String, cookie: String?) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\(cookie.map { "Cookie: \($0)\r\n" } ?? "")\r\n".utf8)
    }

    /// The value a Set-Cookie header of a raw answer gives `name`.
    static func cookie(_ name: String, in answer: String) -> String? {
        guard let range = answer.range(of: "set-cookie: \(name)=", options: .caseInsensitive) else { return nil }
        return String(answer[range.upperBound...].prefix { $0 != ";" && $0 != "\r" })
    }

    static func form(_ fields: [(String, String)]) -> [UInt8] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return Array(fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&").utf8)
    }

    @Test("oversized, malformed, forged, non-UTF-8 and injected forms: a page with a 3xx or 4xx each, never a 5xx, nothing stored, the service up")
    func hostileForms() async throws {
        try LiveCluster.check()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("hostile-web"),
                                       edits: [("http: {idle_timeout_seconds: 60, body_timeout_seconds: 30}", "http: {idle_timeout_seconds: 5, body_timeout_seconds: 5}")])
        try await service.start()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")

        // Signing in, as a browser does: the sign-in form's cookie, then the token.
        let signInForm = try RawConnection.exchange(port: service.port, Self.get("/ui/sign-in", cookie: nil))
        let nonce = try #require(Self.cookie("hpcbridge_signin", in: signInForm.text))
        let signedIn = try RawConnection.exchange(port: service.port, Self.request(Self.form([("_csrf", nonce), ("token", token)]), path: "/ui/sign-in",
                                                                                   cookie: "hpcbridge_signin=\(nonce)", contentType: "application/x-www-form-urlencoded"))
        #expect(signedIn.status == 303)
        let session = "hpcbridge_session=" + (try #require(Self.cookie("hpcbridge_session", in: signedIn.text)))
        let page = try RawConnection.exchange(port: service.port, Self.get("/ui/pipelines/gatk_variant_calling", cookie: session))
        let csrf = try #require(page.text.components(separatedBy: "name=\"_csrf\" value=\"").dropFirst().first.map { String($0.prefix { $0 != "\"" }) })

        let valid: [(String, String)] = [("_csrf", csrf), ("sample_id", "S1"), ("reference_genome", "hg38"),
                                         ("fastq_r1", "/data/cancer_genomics_lab/missing/in_R1.fastq.gz"), ("fastq_r2", "/data/cancer_genomics_lab/missing/in_R2.fastq.gz")]
        func with(_ name: String, _ value: String) -> [UInt8] { Self.form(valid.map { $0.0 == name ? ($0.0, value) : $0 }) }
        let urlEncoded = "application/x-www-form-urlencoded"
        var cases: [(name: String, bytes: [UInt8], contentType: String?, cookie: String?, origin: String?, expected: Set<Int>)] = [
            ("over the 4 MiB limit", Self.form(valid + [("_description", String(repeating: "x", count: 4 << 20))]), urlEncoded, session, nil, [413]),
            ("16 MiB of multipart", Array("--b\r\n".utf8) + Array(repeating: UInt8(ascii: "a"), count: 16 << 20), "multipart/form-data; boundary=b", session, nil, [413]),
            ("multipart without a boundary", Array("--b\r\n\r\nx\r\n--b--\r\n".utf8), "multipart/form-data", session, nil, [415]),
            ("a multipart part without headers", Array("--b\r\nno blank line\r\n--b--\r\n".utf8), "multipart/form-data; boundary=b", session, nil, [415]),
            ("a multipart part without a name", Array("--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n".utf8), "multipart/form-data; boundary=b", session, nil, [415]),
            ("text/plain", Self.form(valid), "text/plain", session, nil, [415]),
            ("no Content-Type", Self.form(valid), nil, session, nil, [415]),
            ("no CSRF token", Self.form(Array(valid.dropFirst())), urlEncoded, session, nil, [403]),
            ("a forged CSRF token", with("_csrf", "forged"), urlEncoded, session, nil, [403]),
            ("another site's Origin", Self.form(valid), urlEncoded, session, "https://evil.example", [403]),
            ("no session", Self.form(valid), urlEncoded, nil, nil, [303]),
            ("a forged session", Self.form(valid), urlEncoded, "hpcbridge_session=" + String(repeating: "A", count: 43), nil, [303]),
            ("invalid UTF-8 in a value", Array(String(decoding: Self.form(valid), as: UTF8.self).replacingOccurrences(of: "sample_id=S1", with: "sample_id=%FF%FE").utf8),
             urlEncoded, session, nil, [422]),
            ("a NUL byte", with("sample_id", "S\u{0}1"), urlEncoded, session, nil, [422]),
            ("a broken percent escape", Array("_csrf=\(csrf)&sample_id=%G1%".utf8), urlEncoded, session, nil, [422]),
            ("20,000 unknown fields", Self.form([("_csrf", csrf)] + (0..<20_000).map { ("f\($0)", "v") }), urlEncoded, session, nil, [422]),
            ("a number where a choice is", with("reference_genome", "1e999"), urlEncoded, session, nil, [422]),
        ]
        let corpus = injectionCorpus(marker: try TestPaths.scratchDirectory("web-markers") + "/m")
        for (index, entry) in corpus.enumerated() where ReliabilityRun.full || index % 3 == 0 {
            cases.append(("injection in sample_id: \(entry.name)", with("sample_id", entry.value), urlEncoded, session, nil, [422]))
        }
        var serverErrors = 0
        for entry in cases {
            let answer = try RawConnection.exchange(port: service.port, Self.request(entry.bytes, path: "/ui/pipelines/gatk_variant_calling", cookie: entry.cookie,
                                                                                     contentType: entry.contentType, origin: entry.origin), seconds: 30)
            if (answer.status ?? 500) >= 500 { serverErrors += 1 }
            #expect(answer.status.map(entry.expected.contains) == true, "\(entry.name): \(answer.status.map(String.init) ?? "no answer") \(answer.text.prefix(600))")
            if answer.status != 303 { #expect(answer.text.contains("text/html"), "\(entry.name): the refusal is not a page") }
            #expect(try await service.request("GET", "/healthz").status == 200, "\(entry.name): the service is down")
        }
        let stored = try await service.request("GET", "/v1/jobs", token: token)
        #expect(stored.body?["jobs"]?.arrayValue?.isEmpty == true, "a refused form stored a job: \(stored.body?.jsonText.prefix(400) ?? "")")

        // Hostile sign-ins: a megabyte of token, an open redirect.
        let big = try RawConnection.exchange(port: service.port, Self.request(Self.form([("_csrf", nonce), ("token", String(repeating: "hb_", count: 350_000))]),
                                                                              path: "/ui/sign-in", cookie: "hpcbridge_signin=\(nonce)", contentType: urlEncoded))
        #expect(big.status == 401)
        let redirect = try RawConnection.exchange(port: service.port, Self.request(Self.form([("_csrf", nonce), ("next", "javascript:alert(1)"), ("token", token)]),
                                                                                   path: "/ui/sign-in", cookie: "hpcbridge_signin=\(nonce)", contentType: urlEncoded))
        #expect(redirect.status == 303 && redirect.text.lowercased().contains("location: /ui/dashboard\r\n"), "\(redirect.text.prefix(300))")
        #expect(serverErrors == 0)
        #expect(!service.log.contains(token), "the token reached the log")
        ReliabilityRun.record("hostile-web-forms", ["inputs": .number(Double(cases.count + 2)), "server_errors": .number(Double(serverErrors))])
    }
}
