import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import HPCBridge

/// A real Prometheus server (Debian's package, on loopback) scraping a running `hpcbridge serve` every
/// second while jobs run on the dev cluster; its query API must return the expected series per group,
/// and it must load the shipped alert rules and evaluate every dashboard query.
@Suite("Prometheus scrapes the running service, live cluster", .enabled(if: LiveCluster.enabled))
struct PrometheusIntegrationTests {
    /// A Prometheus server on a scratch directory, stopped by pid.
    final class PrometheusServer: @unchecked Sendable {
        let root: String
        let port = Int.random(in: 10_000...19_999)  // below the ephemeral range, apart from ServeProcess's
        private let process = Process()

        init(root: String, target: Int) throws {
            self.root = root
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus") else {
                throw SchedulerError(.unavailable, operation: "prometheus", detail: "/usr/bin/prometheus is missing; contrib/dev-cluster/up installs it")
            }
            try TestPaths.write(try String(contentsOfFile: TestPaths.root + "/contrib/prometheus/hpcbridge.rules.yml", encoding: .utf8),
                                to: root + "/hpcbridge.rules.yml")
            try TestPaths.write("""
                global: {scrape_interval: 1s, evaluation_interval: 1s}
                rule_files: [hpcbridge.rules.yml]
                scrape_configs:
                  - job_name: hpcbridge
                    static_configs: [{targets: ["127.0.0.1:\(target)"]}]
                """, to: root + "/prometheus.yml")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
            process.arguments = ["--config.file=\(root)/prometheus.yml", "--storage.tsdb.path=\(root)/data",
                                 "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn"]
            _ = FileManager.default.createFile(atPath: root + "/prometheus.log", contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: root + "/prometheus.log"))
            process.standardOutput = log
            process.standardError = log
            try process.run()
        }

        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }

        /// Runs an instant query; returns the API's JSON answer.
        func query(_ promql: String) async throws -> JSONValue {
            var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
            components.queryItems = [URLQueryItem(name: "query", value: promql)]
            let (data, _) = try await URLSession.shared.data(from: components.url!)
            return try JSONValue.parse(data)
        }

        /// The single value of a query, or nil when it has no result.
        func value(_ promql: String) async throws -> Double? {
            let answer = try await query(promql)
            guard let first = answer["data"]?["result"]?.arrayValue?.first, let value = first["value"]?.arrayValue, value.count == 2 else { return nil }
            return value[1].stringValue.flatMap(Double.init)
        }

        /// Polls until the query returns `expected` (or the timeout passes); returns the last value.
        func wait(for promql: String, toBe expected: Double, timeout: TimeInterval = 60) async throws -> Double? {
            let deadline = Date().addingTimeInterval(timeout)
            var last: Double?
            while Date() < deadline {
                last = try? await value(promql)
                if last == expected { return last }
                try await Task.sleep(for: .milliseconds(500))
            }
            return last
        }

        func get(_ path: String) async throws -> JSONValue {
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            return try JSONValue.parse(data)
        }
    }

    @Test("series per group match the jobs that ran; the rules load and every dashboard query evaluates")
    func scrape() async throws {
        try LiveCluster.check()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("prometheus"))
        try await service.start()
        defer { service.stop() }
        let prometheus = try PrometheusServer(root: service.root + "/prometheus", target: service.port)
        defer { prometheus.stop() }

        let cancer = try service.token(group: "cancer_genomics_lab")
        let sysbio = try service.token(group: "systems_biology_lab")
        let sample = try await service.writeDemoGenome().samples[0]
        var ids: [String] = []
        for (r1, r2) in [(sample.fastqR1, sample.fastqR2), ("/data/cancer_genomics_lab/missing/a_R1.fastq", "/data/cancer_genomics_lab/missing/a_R2.fastq"), ("/data/cancer_genomics_lab/missing/b_R1.fastq", "/data/cancer_genomics_lab/missing/b_R2.fastq")] {
            let created = try await service.request("POST", "/v1/jobs", token: cancer, body: ServiceEndToEndTests.gatk(r1, r2))
            ids.append(try #require(created.body?["id"]?.stringValue))
        }
        let invalid: JSONValue = ["pipeline_name": "rnaseq_deseq2", "research_group": "systems_biology_lab", "parameters": ["sample_id": "s"]]
        #expect(try await service.request("POST", "/v1/jobs", token: sysbio, body: invalid).status == 422)
        var states: [String] = []
        for id in ids { states.append(try await service.waitForEnd(id, token: cancer)["state"]?.stringValue ?? "?") }
        #expect(states == ["completed", "failed", "failed"], "\(service.log.suffix(2000))")

        let group = #"group="cancer_genomics_lab",pipeline="gatk_variant_calling""#
        #expect(try await prometheus.wait(for: #"up{job="hpcbridge"}"#, toBe: 1) == 1, "prometheus log:\n\((try? String(contentsOfFile: prometheus.root + "/prometheus.log", encoding: .utf8)) ?? "")")
        #expect(try await prometheus.wait(for: "hpcbridge_jobs{\(group),state=\"failed\"}", toBe: 2) == 2)
        #expect(try await prometheus.wait(for: "hpcbridge_jobs{\(group),state=\"completed\"}", toBe: 1) == 1)
        #expect(try await prometheus.value("hpcbridge_jobs_accepted_total{\(group)}") == 3)
        #expect(try await prometheus.value(#"sum(hpcbridge_jobs_finished_total{group="cancer_genomics_lab",outcome="failed",failure_kind="non_zero_exit"})"#) == 2)
        #expect(try await prometheus.value(#"hpcbridge_validation_rejections_total{group="systems_biology_lab",pipeline="rnaseq_deseq2"}"#) == 1)
        #expect(try await prometheus.value(#"hpcbridge_jobs{group="systems_biology_lab"}"#) == nil, "no job was stored for the refused request")
        #expect(try await prometheus.value(#"hpcbridge_job_run_seconds_count{\#(group)}"#) == 3)
        #expect(try await prometheus.value(#"hpcbridge_reconcile_controller_calls{cluster="dev"}"#) == 1)
        #expect((try await prometheus.value(#"hpcbridge_reconcile_seconds_since_success{cluster="dev"}"#) ?? 99) < 10)
        #expect((try await prometheus.value(#"sum(hpcbridge_scheduler_call_duration_seconds_count{operation="submit"})"#) ?? 0) == 3)

        // The shipped rules load and evaluate, and none fires on a healthy service.
        let rules = try await prometheus.get("/api/v1/rules")
        let loaded = rules["data"]?["groups"]?.arrayValue?.flatMap { $0["rules"]?.arrayValue ?? [] } ?? []
        #expect(loaded.count == 6)
        try await Task.sleep(for: .seconds(2))
        let evaluated = try await prometheus.get("/api/v1/rules")["data"]?["groups"]?.arrayValue?.flatMap { $0["rules"]?.arrayValue ?? [] } ?? []
        for rule in evaluated {
            #expect(rule["health"] == "ok", "rule \(rule["name"]?.stringValue ?? "?"): \(rule["lastError"]?.stringValue ?? "")")
            #expect(rule["state"] == "inactive", "\(rule["name"]?.stringValue ?? "?") fires on a healthy service")
        }
        // Every query of the Grafana dashboard is valid PromQL against the real series.
        let dashboard = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: TestPaths.root + "/contrib/grafana/hpcbridge-dashboard.json")))
        let expressions = (dashboard["panels"]?.arrayValue ?? []).flatMap { $0["targets"]?.arrayValue ?? [] }.compactMap { $0["expr"]?.stringValue }
        #expect(expressions.count >= 10)
        for expression in expressions {
            let answer = try await prometheus.query(expression.replacingOccurrences(of: "$group", with: ".*"))
            #expect(answer["status"] == "success", "\(expression): \(answer["error"]?.stringValue ?? "")")
        }
        #expect(try await prometheus.value(#"sum by (group) (hpcbridge_jobs{group=~".*"})"#) == 3)
    }
}
