import Foundation
import Testing
@testable import HPCBridge

/// The deployment kit in contrib/: the systemd unit, the Prometheus scrape config and alert rules, and
/// the Grafana dashboard, checked with the tools admins would use.
@Suite("Operations kit (contrib/)")
struct OperationsKitTests {
    static let contrib = TestPaths.root + "/contrib"

    /// A tool the dev cluster installs; missing is a failure where the cluster is required (CI).
    func tool(_ path: String) async throws -> Bool {
        if FileManager.default.isExecutableFile(atPath: path) { return true }
        try #require(!LiveCluster.required, "\(path) is missing; contrib/dev-cluster/up installs it")
        return false
    }

    @Test("the alert rules and scrape config pass promtool, and the rules' unit tests pass")
    func prometheus() async throws {
        guard try await tool("/usr/bin/promtool") else { return }
        let rules = try await run("/usr/bin/promtool", ["check", "rules", Self.contrib + "/prometheus/hpcbridge.rules.yml"])
        #expect(rules.status == 0, "\(rules.stdout)\(rules.stderr)")
        #expect(rules.stdout.contains("SUCCESS: 6 rules found"))
        let config = try await run("/usr/bin/promtool", ["check", "config", Self.contrib + "/prometheus/prometheus.yml"])
        #expect(config.status == 0, "\(config.stdout)\(config.stderr)")
        let unit = try await run("/usr/bin/promtool", ["test", "rules", "hpcbridge.rules.test.yml"], directory: Self.contrib + "/prometheus")
        #expect(unit.status == 0, "\(unit.stdout)\(unit.stderr)")
    }

    @Test("the dashboard and the rules only name metrics the service exports")
    func metricNames() async throws {
        let known = BridgeMetrics.seriesNames.union(["up"])
        let dashboard = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: Self.contrib + "/grafana/hpcbridge-dashboard.json")))
        let panels = dashboard["panels"]?.arrayValue ?? []
        let expressions = panels.flatMap { $0["targets"]?.arrayValue ?? [] }.compactMap { $0["expr"]?.stringValue }
        #expect(expressions.count >= 10)
        #expect(panels.filter { $0["type"] != "row" }.allSatisfy { ($0["targets"]?.arrayValue?.isEmpty ?? true) == false }, "every panel has a query")
        #expect(expressions.filter { $0.contains("$group") }.count >= 6, "per-group panels follow the group variable")
        let rules = try String(contentsOfFile: Self.contrib + "/prometheus/hpcbridge.rules.yml", encoding: .utf8)
        for text in expressions + [rules] {
            let names = text.matches(of: /\b(hpcbridge_[a-z_]+|up)\b/).map { String($0.output.1) }
            for name in names where !name.hasPrefix("hpcbridge_") || !known.contains(name) {
                #expect(known.contains(name), "\(name) is not a metric hpcbridge exports")
            }
        }
    }

    @Test("the systemd unit verifies and its exposure score is low")
    func systemdUnit() async throws {
        guard try await tool("/usr/bin/systemd-analyze") else { return }
        let directory = try TestPaths.scratchDirectory("unit")
        // Verified against the built binary (the unit names its installed path).
        let unit = try String(contentsOfFile: Self.contrib + "/systemd/hpcbridge.service", encoding: .utf8)
            .replacingOccurrences(of: "/opt/hpcbridge/bin/hpcbridge", with: TestPaths.root + "/.build/debug/hpcbridge")
        try TestPaths.write(unit, to: directory + "/hpcbridge.service")
        let verified = try await run("/usr/bin/systemd-analyze", ["verify", directory + "/hpcbridge.service"])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        let security = try await run("/usr/bin/systemd-analyze", ["security", "--offline=yes", directory + "/hpcbridge.service"])
        let match = security.stdout.firstMatch(of: /Overall exposure level for hpcbridge.service: ([0-9.]+)/)
        let score: Double = match.flatMap { Double(String($0.output.1)) } ?? 10
        #expect(score <= 2.5, "exposure \(score):\n\(security.stdout.suffix(1500))")
        for setting in ["NoNewPrivileges=yes", "ProtectSystem=strict", "User=hpcbridge", "StateDirectory=hpcbridge", "Restart=on-failure"] {
            #expect(unit.contains(setting), "the unit lacks \(setting)")
        }
    }
}
