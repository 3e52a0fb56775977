import AsyncHTTPClient
import Foundation
import HPCBridge

/// 4. `/metrics` scrape time and the service's memory with N finished jobs in the store (a site's
/// history), the service started on that store.
struct ScrapeBenchmark {
    struct Result: Codable, Sendable {
        var storedJobs: Int
        var scrapes: Int
        var scrapeP50MS: Double
        var scrapeP99MS: Double
        /// Resident memory after start-up and a few seconds idle, before any scrape.
        var idleRSSMB: Double
        var rssAfterScrapesMB: Double
        var peakRSSMB: Double
        /// Anonymous resident memory after the scrapes (heap, stacks); the rest of RSS is mapped code.
        var anonymousMB: Double
        var storeMB: Double
        /// Whether the scrape's per-state gauge added up to the stored jobs.
        var gaugeMatchesStore: Bool
    }

    let settings: BenchSettings
    let cluster: BenchCluster
    let workDirectory: String
    let client: HTTPClient

    func run() async throws -> [Result] {
        var results: [Result] = []
        for size in settings.storeSizes {
            let directory = workDirectory + "/scrape-\(size)"
            try? FileManager.default.removeItem(atPath: directory)
            try Self.fill(storePath: directory + "/hpcbridge.sqlite", jobs: size)
            let storeBytes = (try? FileManager.default.attributesOfItem(atPath: directory + "/hpcbridge.sqlite")[.size] as? Int) ?? 0
            let service = try await BridgeService.start(binary: settings.hpcbridgeBinary, directory: directory,
                                                        repository: settings.repository, cluster: cluster, client: client)
            try await Task.sleep(for: .seconds(3))
            let idle = service.memoryMB()
            let scrapes = await HTTPLoad.run(client: client, count: settings.scrapes, concurrency: 1, keepBodies: true) { _ in
                HTTPClientRequest(url: service.baseURL + "/metrics")
            }
            let after = service.memoryMB()
            await service.stop()
            let lastBody = scrapes.bodies.max { $0.key < $1.key }?.value ?? ""
            let result = Result(storedJobs: size, scrapes: scrapes.completed,
                                scrapeP50MS: Statistics.percentile(scrapes.latenciesMS, 50), scrapeP99MS: Statistics.percentile(scrapes.latenciesMS, 99),
                                idleRSSMB: idle.resident, rssAfterScrapesMB: after.resident, peakRSSMB: after.peak, anonymousMB: after.anonymous,
                                storeMB: Double(storeBytes) / 1_048_576, gaugeMatchesStore: Self.jobsGaugeTotal(lastBody) == size)
            if scrapes.errors(expecting: [200]) > 0 { throw BenchError("/metrics failed: \(scrapes.statuses) \(scrapes.failures.prefix(3))") }
            print(String(format: "  %7d stored jobs  scrape p50 %6.2f ms  p99 %6.2f ms  RSS idle %6.1f MB  after scrapes %6.1f MB  peak %6.1f MB  gauge %@",
                         size, result.scrapeP50MS, result.scrapeP99MS, result.idleRSSMB, result.rssAfterScrapesMB, result.peakRSSMB,
                         result.gaugeMatchesStore ? "matches" : "DOES NOT MATCH"))
            results.append(result)
        }
        return results
    }

    /// The sum of `hpcbridge_jobs` over every series of a scrape.
    static func jobsGaugeTotal(_ exposition: String) -> Int {
        exposition.split(separator: "\n")
            .filter { $0.hasPrefix("hpcbridge_jobs{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0) { $0 + Int($1) }
    }

    /// A history of finished jobs shaped like the service's own rows: both shipped pipelines, mostly
    /// completed, some failed or cancelled, each with a rendered-script-sized intent.
    static func fill(storePath: String, jobs count: Int) throws {
        let store = try JobStore(path: storePath)
        let intent = String(repeating: "#", count: 2048)
        let start = Date().addingTimeInterval(-Double(count) * 30)
        var batch: [Job] = []
        for index in 0..<count {
            let created = start.addingTimeInterval(Double(index) * 30)
            var job = Job(id: UUID(), state: .completed, pipelineName: index % 3 == 0 ? "rnaseq_deseq2" : "gatk_variant_calling",
                          pipelineVersion: "1.0.0", parametersJSON: #"{"sample_id":"S\#(index)","reference_genome":"hg38"}"#,
                          researchGroup: BridgeService.group, description: "history job \(index)", cluster: "dev", createdAt: created,
                          scriptDigest: String(repeating: "0", count: 64), intentJSON: intent)
            if index % 14 == 0 { job.state = .failed; job.failureKind = "non_zero_exit"; job.exitCode = 1 }
            if index % 33 == 0 { job.state = .cancelled; job.failureKind = "cancelled" }
            job.nativeJobID = String(1_000_000 + index)
            job.submittedAt = created.addingTimeInterval(1)
            job.startedAt = created.addingTimeInterval(60)
            job.finishedAt = created.addingTimeInterval(3600)
            batch.append(job)
            if batch.count == 10_000 {
                try store.insert(contentsOf: batch, source: "benchmark")
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try store.insert(contentsOf: batch, source: "benchmark") }
    }
}
