import Foundation
import Testing
@testable import HPCBridge

/// The GA4GH WES interface of a running `hpcbridge serve` on the live cluster, driven by the community's
/// own clients from PyPI (`make wes-tools`: wes-service 5.0's wes-client, ai4gh 1.0.0) through
/// `Tests/wes/wes_clients.py`: service-info, list, get and log with a bearer token; germline cohort runs
/// on the demo data, sent as wes-client's library sends them, followed to COMPLETE; a run with a
/// truncated FASTQ ending EXECUTOR_ERROR with its exit code and a readable stderr URL; a cancel seen as
/// CANCELING, then CANCELED; another group's token answered 404; and ai4gh's WES report with no failure.
@Suite("GA4GH WES through the community's clients, live cluster", .enabled(if: LiveCluster.enabled))
struct WESClientsIntegrationTests {
    static let tools = TestPaths.root + "/.build/wes-tools/bin"

    struct Missing: Error, CustomStringConvertible {
        var description: String { "wes-client and ai4gh are not installed in .build/wes-tools; run `make wes-tools`" }
    }

    @Test("wes-client and ai4gh against the live service: runs to COMPLETE, EXECUTOR_ERROR with its stderr, CANCELING then CANCELED, 404 across groups")
    func communityClients() async throws {
        try LiveCluster.check()
        guard FileManager.default.isExecutableFile(atPath: Self.tools + "/wes-client") else { throw Missing() }
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("wes-clients"))
        try await service.start()
        defer { service.stop() }
        let cohort = try await service.writeDemoGenome()
        let brokenSheet = try service.writeTruncatedSheet(of: cohort).sheet

        let result = try await run(Self.tools + "/python", [
            TestPaths.root + "/Tests/wes/wes_clients.py", "--port", "\(service.port)",
            "--token", try service.token(group: "cancer_genomics_lab"), "--other-token", try service.token(group: "systems_biology_lab"),
            "--sheet", cohort.sampleSheet, "--broken-sheet", brokenSheet,
            "--wes-client", Self.tools + "/wes-client", "--ai4gh", Self.tools + "/ai4gh",
        ])
        let summary = (try? JSONValue.parse(result.stdout.split(separator: "\n").last.map(String.init) ?? "")) ?? .null
        #expect(result.status == 0 && summary["ok"] == true, "\(result.stdout.suffix(4000))\n\(result.stderr.suffix(4000))")
        #expect(summary["cancel_states"]?.arrayValue?.first == "CANCELING" && summary["cancel_states"]?.arrayValue?.last == "CANCELED",
                "\(summary.prettyJSON)")
        #expect(summary["failed_exit_code"]?.numberValue.map { $0 != 0 } == true)
        #expect(summary["engines"] == ["hpcbridge", "slurm"])
        #expect(summary["ai4gh"]?["failed"] == 0)
        print("wes-clients: \(summary.jsonText)")
    }
}
