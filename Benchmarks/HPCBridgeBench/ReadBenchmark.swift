import AsyncHTTPClient
import Foundation

/// 3. API reads under wrk: hpcbridge's job and filtered list endpoints next to slurmrestd's job endpoint,
/// for the same jobs (queued in the DOWN benchmark partition).
struct ReadBenchmark {
    struct Result: Codable, Sendable {
        var target: String
        var requestsPerSecond: Double
        var latencyP50MS: Double
        var latencyP99MS: Double
        var requests: Int
        var errors: Int
        var connections: Int
        var seconds: Int
        var transport: String
    }

    let settings: BenchSettings
    let cluster: BenchCluster
    let workDirectory: String
    let client: HTTPClient

    static let jobTarget = "hpcbridge GET /v1/jobs/{id}"
    static let listTarget = "hpcbridge GET /v1/jobs?state&pipeline"
    static let slurmrestdTarget = "slurmrestd GET job/{id}"
    /// The same binary's cheapest route: the HTTP stack's own ceiling on this machine, in the same run.
    static let ceilingTarget = "hpcbridge GET /healthz (the stack's ceiling)"

    func run() async throws -> [Result] {
        try await cluster.clear()
        let directory = workDirectory + "/reads"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let slurmrestd = try await SlurmrestdProcess.start(in: directory, client: client)
        defer { slurmrestd.stop() }
        let service = try await BridgeService.start(binary: settings.hpcbridgeBinary, directory: directory + "/service",
                                                    repository: settings.repository, cluster: cluster, client: client)
        do {
            let results = try await measure(service: service, slurmrestd: slurmrestd, directory: directory)
            await service.stop()
            try await cluster.clear()
            return results
        } catch {
            await service.stop()
            throw error
        }
    }

    private func measure(service: BridgeService, slurmrestd: SlurmrestdProcess, directory: String) async throws -> [Result] {
        // The jobs to read: submitted through the service, so both sides describe the same Slurm jobs.
        let body = try SubmissionBenchmark.hpcbridgeBody(repository: settings.repository)
        let submitted = await HTTPLoad.run(client: client, count: settings.readJobs, concurrency: settings.httpClients, keepBodies: true) { _ in
            service.request("/v1/jobs", method: .POST, json: body)
        }
        guard submitted.errors(expecting: [201]) == 0 else {
            throw BenchError("submitting the jobs to read failed: \(submitted.statuses) \(submitted.failures.prefix(3))")
        }
        var ids: [String] = []
        var natives: [String] = []
        for text in submitted.bodies.values {
            guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let id = object["id"] as? String else { continue }
            ids.append(id)
            if let native = object["native_job_id"] as? String { natives.append(native) }
        }
        guard ids.count == settings.readJobs, natives.count == settings.readJobs else {
            throw BenchError("expected \(settings.readJobs) submitted jobs with Slurm ids, got \(ids.count) ids and \(natives.count) Slurm ids")
        }
        // Let the reconciler record the controller's view (queued, PartitionDown) before reading.
        try await Task.sleep(for: .seconds(6))

        let bridgePort = try slurmrestd.startTCPBridge()
        let auth = ["Authorization: Bearer \(service.token)"]
        let listPath = "/v1/jobs?state=queued&pipeline=gatk_variant_calling&limit=50"
        try await expectOK(service.request(listPath))
        try await expectOK(service.request("/v1/jobs/\(ids[0])"))
        var restRequest = HTTPClientRequest(url: "http://127.0.0.1:\(bridgePort)/slurm/\(SlurmrestdProcess.apiVersion)/job/\(natives[0])")
        restRequest.method = .GET
        try await expectOK(restRequest)

        var results: [Result] = []
        func wrk(_ target: String, url: String, paths: [String], headers: [String], transport: String, connections: Int? = nil) async throws {
            let connections = connections ?? settings.readConnections
            let run = try await WrkRun.run(url: url, paths: paths, headers: headers, threads: min(settings.wrkThreads, connections),
                                     connections: connections, seconds: settings.readSeconds, scriptDirectory: directory)
            print(String(format: "  %@ %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d", ReportTable.pad(target, 40),
                         run.requestsPerSecond, run.latencyP50MS, run.latencyP99MS, run.errors))
            results.append(Result(target: target, requestsPerSecond: run.requestsPerSecond, latencyP50MS: run.latencyP50MS,
                                  latencyP99MS: run.latencyP99MS, requests: run.requests, errors: run.errors,
                                  connections: connections, seconds: settings.readSeconds, transport: transport))
        }
        try await wrk(Self.ceilingTarget, url: service.baseURL + "/healthz", paths: [], headers: [], transport: "wrk, TCP")
        try await wrk(Self.jobTarget, url: service.baseURL, paths: ids.map { "/v1/jobs/\($0)" }, headers: auth, transport: "wrk, TCP")
        // The same reads from an eighth of the connections (8 of 64): latency while the service is not saturated
        // (at 64 connections it is bounded below by connections / throughput).
        try await wrk(Self.jobTarget + " (\(max(1, settings.readConnections / 8)) connections)", url: service.baseURL, paths: ids.map { "/v1/jobs/\($0)" },
                headers: auth, transport: "wrk, TCP", connections: max(1, settings.readConnections / 8))
        try await wrk(Self.listTarget, url: service.baseURL + listPath, paths: [], headers: auth, transport: "wrk, TCP")
        try await wrk(Self.slurmrestdTarget, url: "http://127.0.0.1:\(bridgePort)",
                paths: natives.map { "/slurm/\(SlurmrestdProcess.apiVersion)/job/\($0)" }, headers: [], transport: "wrk, TCP via socat to its unix socket")

        // The same slurmrestd reads without the relay, from this process over the unix socket, as a check
        // that socat is not what limits it.
        let deadline = ContinuousClock.now + .seconds(settings.readSeconds)
        let slurmIDs = natives
        let direct = await HTTPLoad.run(client: client, count: Int.max, concurrency: settings.readConnections, until: deadline) { index in
            HTTPClientRequest(url: slurmrestd.url("/slurm/\(SlurmrestdProcess.apiVersion)/job/\(slurmIDs[index % slurmIDs.count])"))
        }
        let directErrors = direct.errors(expecting: [200])
        print(String(format: "  %@ %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d", ReportTable.pad("slurmrestd GET job/{id} (unix socket)", 40),
                     direct.perSecond, Statistics.percentile(direct.latenciesMS, 50), Statistics.percentile(direct.latenciesMS, 99), directErrors))
        results.append(Result(target: Self.slurmrestdTarget + " (unix socket)", requestsPerSecond: direct.perSecond,
                              latencyP50MS: Statistics.percentile(direct.latenciesMS, 50), latencyP99MS: Statistics.percentile(direct.latenciesMS, 99),
                              requests: direct.completed, errors: directErrors, connections: settings.readConnections,
                              seconds: settings.readSeconds, transport: "async-http-client, unix socket"))
        return results
    }

    private func expectOK(_ request: HTTPClientRequest) async throws {
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok else {
            throw BenchError("\(request.url) answered \(response.status.code): \(String(buffer: body).prefix(300))")
        }
    }
}
