import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing
@testable import HPCBridge

/// The Prometheus text the service exposes: values per group and pipeline, promtool's verdict, and
/// what promtool does not check (duplicate series, +Inf buckets, label escaping, bounded series).
@Suite("Metrics")
struct MetricsTests {
    let fake = FakeScheduler()

    /// The sample lines of an exposition, without comments: `name{labels} value`.
    static func samples(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
    }

    static func value(_ text: String, _ series: String) -> Double? {
        for line in samples(text) where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    func scrape(_ service: TestService) async throws -> String {
        let captured = CapturedLogs()
        try await service.withClient { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            captured.append(String(buffer: response.body))
        }
        return captured.all.joined()
    }

    @Test("jobs by state, accepted and finished counts, refusals and HTTP requests show per group and pipeline")
    func values() async throws {
        let service = try TestService(scheduler: fake, quotas: (maxActive: 100, perMinute: 3), submissionGrace: 0)
        let token = try service.token(group: "cancer_genomics_lab")
        try await service.withClient { client in
            // Invalid first: it is counted as a rejection and not against the rate quota.
            let invalid: JSONValue = ["pipeline_name": "gatk_variant_calling", "research_group": "cancer_genomics_lab", "parameters": ["sample_id": "x"]]
            let refused = try await JobAPITests.post(client, token, invalid)
            #expect(refused.status == .unprocessableContent)
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<4 { statuses.append(try await JobAPITests.post(client, token, try JobAPITests.request()).status) }
            #expect(statuses == [.created, .created, .created, .tooManyRequests])
        }
        let jobs = try service.store.jobs(.init()).jobs
        let natives = jobs.compactMap { job in job.nativeJobID.map { NativeJobID($0) } }
        await fake.set(natives[0], .running)
        try await service.reconciler.cycle()
        await fake.set(natives[0], .completed)
        await fake.set(natives[1], .failed(.outOfMemory), exit: ProcessExit(code: 0, signal: 9))
        try await service.reconciler.cycle()

        let text = try await scrape(service)
        let labels = #"group="cancer_genomics_lab",pipeline="gatk_variant_calling""#
        #expect(Self.value(text, #"hpcbridge_jobs{\#(labels),state="queued"}"#) == 1)
        #expect(Self.value(text, #"hpcbridge_jobs{\#(labels),state="completed"}"#) == 1)
        #expect(Self.value(text, #"hpcbridge_jobs{\#(labels),state="failed"}"#) == 1)
        #expect(Self.value(text, #"hpcbridge_jobs{\#(labels),state="accepted"}"#) == 0)
        #expect(Self.value(text, #"hpcbridge_jobs_accepted_total{\#(labels)}"#) == 3)
        #expect(Self.value(text, #"hpcbridge_jobs_finished_total{\#(labels),outcome="completed",failure_kind="none"}"#) == 1)
        #expect(Self.value(text, #"hpcbridge_jobs_finished_total{\#(labels),outcome="failed",failure_kind="out_of_memory"}"#) == 1)
        #expect(Self.value(text, #"hpcbridge_job_run_seconds_count{\#(labels)}"#) == 2)
        // Both ran: the OOM job's start is recorded although the reconciler saw only its end.
        #expect(Self.value(text, #"hpcbridge_job_queue_wait_seconds_count{\#(labels)}"#) == 2)
        #expect(Self.value(text, #"hpcbridge_quota_refusals_total{group="cancer_genomics_lab",quota="submissions_per_minute"}"#) == 1)
        #expect(Self.value(text, #"hpcbridge_validation_rejections_total{\#(labels)}"#) == 1)
        #expect(Self.value(text, #"hpcbridge_http_requests_total{route="/v1/jobs",method="POST",status="201"}"#) == 3)
        #expect(Self.value(text, #"hpcbridge_scheduler_call_duration_seconds_count{cluster="dev",operation="submit",path="fake"}"#) == 3)
        #expect(Self.value(text, #"hpcbridge_reconcile_controller_calls{cluster="dev"}"#) == 1)
        #expect(Self.value(text, #"hpcbridge_reconcile_cycle_duration_seconds_count{cluster="dev"}"#) == 2)
        #expect(Self.value(text, #"hpcbridge_build_info{version="\#(BridgeVersion.current)"}"#) == 1)
        #expect((Self.value(text, #"hpcbridge_reconcile_seconds_since_success{cluster="dev"}"#) ?? -1) >= 0)
        #expect(!text.contains(jobs[0].id.uuidString.lowercased()), "job ids never become label values")
    }

    @Test("gauges start from the store's counts after a restart")
    func restart() async throws {
        let first = try TestService(scheduler: fake)
        let token = try first.token(group: "cancer_genomics_lab")
        try await first.withClient { client in
            for _ in 0..<2 { _ = try await JobAPITests.post(client, token, try JobAPITests.request()) }
        }
        let second = try ServiceAssembly(site: first.site, store: try JobStore(path: first.site.config.storePath), schedulers: ["dev": fake])
        let text = second.metrics.exposition()
        #expect(Self.value(text, #"hpcbridge_jobs{group="cancer_genomics_lab",pipeline="gatk_variant_calling",state="queued"}"#) == 2)
    }

    @Test("the exposition passes promtool check metrics, has no duplicate series, and every histogram ends with +Inf = count")
    func wellFormed() async throws {
        let service = try TestService(scheduler: fake)
        let token = try service.token(group: "systems_biology_lab")
        try await service.withClient { client in
            _ = try await JobAPITests.post(client, token, try JobAPITests.request("rnaseq_deseq2", group: "systems_biology_lab"))
            _ = try await JobAPITests.get(client, "/v1/jobs", token)
        }
        try await service.reconciler.cycle()
        let text = try await scrape(service)

        let series = Self.samples(text).map { String($0[..<$0.lastIndex(of: " ")!]) }
        #expect(Set(series).count == series.count, "duplicate series: \(Dictionary(grouping: series) { $0 }.filter { $1.count > 1 }.keys)")
        for line in Self.samples(text) where line.contains("_count{") || line.contains("_count ") {
            let name = String(line[..<line.range(of: "_count")!.lowerBound])
            let labels = line.range(of: "{").map { String(line[$0.lowerBound..<line.range(of: "}")!.upperBound]) } ?? ""
            let count = Double(line.split(separator: " ").last!)!
            let inner = labels.isEmpty ? "" : String(labels.dropFirst().dropLast()) + ","
            let infinity = "\(name)_bucket{\(inner)le=\"+Inf\"}"
            #expect(Self.value(text, infinity) == count, "\(infinity) must equal \(name)_count")
        }
        for line in text.split(separator: "\n") where line.hasPrefix("# HELP ") {
            #expect(line.split(separator: " ").count > 3, "a HELP line without text: \(line)")
        }

        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") || !LiveCluster.required,
                     "promtool is missing; contrib/dev-cluster/up installs prometheus")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") {
            let checked = try await run("/usr/bin/promtool", ["check", "metrics"], input: Data(text.utf8))
            #expect(checked.status == 0, "promtool: \(checked.stdout)\(checked.stderr)")
        }
    }

    @Test("names a client typed that are not configured are counted as unknown; label values are escaped")
    func labels() async throws {
        let metrics = BridgeMetrics(groups: ["lab_a"], pipelines: ["p"], clusters: ["c"])
        metrics.validationRejected(group: "evil\"} 1\nhpcbridge_fake 2", pipeline: "p\\x")
        let text = metrics.exposition()
        #expect(Self.value(text, #"hpcbridge_validation_rejections_total{group="unknown",pipeline="unknown"}"#) == 1)
        #expect(!text.contains("hpcbridge_fake"))
        // Where a value can be odd (the registry itself), it is escaped as the format requires.
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "odd", unitName: "total", helpText: "x"),
                             labels: [("group", "a\"b\\c\nd")]).increment()
        #expect(registry.emitToString().contains(#"odd_total{group="a\"b\\c\nd"} 1"#))
    }

    @Test("the number of series does not grow with the number of jobs")
    func bounded() async throws {
        let service = try TestService(scheduler: fake)
        let request = try TestSite.example("gatk_variant_calling")
        func seriesCount() -> Int { Self.samples(service.assembly.metrics.exposition()).count }
        _ = try await service.assembly.service.submitter.accept(request)
        let one = seriesCount()
        for _ in 0..<300 { _ = try await service.assembly.service.submitter.accept(request) }
        #expect(seriesCount() == one)
        #expect(Self.value(service.assembly.metrics.exposition(), #"hpcbridge_jobs{group="cancer_genomics_lab",pipeline="gatk_variant_calling",state="accepted"}"#) == 301)
    }
}
