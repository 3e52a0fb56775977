import Foundation
import Testing
@testable import HPCBridge

/// The web pages of a running `hpcbridge serve` on the live cluster, in headless Chromium (Debian's
/// chromium and chromium-driver) driven by selenium (`make ui-tools`) through `Tests/ui/browser_flows.py`:
/// sign-in by keyboard, a germline cohort submitted from the generated form (first with errors shown
/// beside the fields, then valid) and followed to completed without a reload, a failed task's stderr and
/// log page, the run resumed once its reads are repaired, a long run's live progress and its cancellation, a job page, sign-out, another group's
/// pages answering 404, and the admin page. Every page is checked for tokens, unlabelled inputs and CSP
/// refusals; the service's log for tokens and session cookies. Screenshots go to the test's scratch
/// directory (`screenshots/`), and README shows some of them (docs/images/).
@Suite("Web pages in a real browser, live cluster", .enabled(if: LiveCluster.enabled))
struct WebUIBrowserTests {
    static let tools = TestPaths.root + "/.build/ui-tools/bin"

    struct Missing: Error, CustomStringConvertible {
        var description: String { "selenium or Chromium is missing (.build/ui-tools, /usr/bin/chromium, /usr/bin/chromedriver); run `make ui-tools`" }
    }

    @Test("sign in, submit from the form (errors beside the fields, then valid), watch live, read a failed task's log, cancel, sign out; another group gets 404")
    func browserFlows() async throws {
        try LiveCluster.check()
        guard FileManager.default.isExecutableFile(atPath: Self.tools + "/python"), FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else { throw Missing() }
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("web-browser"))
        try await service.start()
        defer { service.stop() }
        let cohort = try await service.writeDemoGenome()
        let sheet = try String(contentsOfFile: cohort.sampleSheet, encoding: .utf8)
        let lines = sheet.split(separator: "\n").map(String.init)
        // A sheet of 24 samples (the demo's, repeated under new ids): long enough to see progress and cancel.
        let rows = lines.dropFirst()
        let longRows = (0..<24).map { index in
            let row = rows[rows.startIndex + index % rows.count]
            return "LONG_\(index)" + row[row.firstIndex(of: ",")!...]
        }
        let longSheet = service.root + "/long.csv"
        try ([lines[0]] + longRows).joined(separator: "\n").appending("\n").write(toFile: longSheet, atomically: true, encoding: .utf8)
        // A sheet the pipeline refuses (a sample id with a space).
        let badSheet = service.root + "/bad-ids.csv"
        try ([lines[0], "bad id" + rows.first![rows.first!.firstIndex(of: ",")!...]]).joined(separator: "\n").appending("\n")
            .write(toFile: badSheet, atomically: true, encoding: .utf8)
        let (brokenSheet, broken, intact) = try service.writeTruncatedSheet(of: cohort)

        let tokens = [try service.token(group: "cancer_genomics_lab"), try service.token(group: "systems_biology_lab"), try service.token(group: nil)]
        let screenshots = service.root + "/screenshots"
        let result = try await run(Self.tools + "/python", [
            TestPaths.root + "/Tests/ui/browser_flows.py", "--port", "\(service.port)",
            "--token", tokens[0], "--other-token", tokens[1], "--admin-token", tokens[2],
            "--sheet", cohort.sampleSheet, "--long-sheet", longSheet, "--broken-sheet", brokenSheet, "--bad-sheet", badSheet,
            "--truncated", broken, "--intact", intact,
            "--screenshots", screenshots,
        ])
        let summary = (try? JSONValue.parse(result.stdout.split(separator: "\n").last.map(String.init) ?? "")) ?? .null
        #expect(result.status == 0 && summary["ok"] == true, "\(result.stdout.suffix(4000))\n\(result.stderr.suffix(4000))")
        #expect((summary["pages_checked"]?.numberValue ?? 0) >= 15, "\(summary.prettyJSON)")
        for name in ["dashboard", "pipeline-form-errors", "run-completed", "run-failed", "run-progress", "job", "admin"] {
            let path = screenshots + "/\(name).png"
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            #expect(size > 10_000, "screenshot \(name).png is missing or blank (\(size) bytes)")
        }
        let log = service.log
        for token in tokens { #expect(!log.contains(token), "a token is in the service's log") }
        #expect(!log.contains("hpcbridge_session="), "a session cookie is in the service's log")
        print("web-browser: \(summary.jsonText)")
    }
}
