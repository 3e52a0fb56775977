import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import HPCBridge
import Yams

/// An `hpcbridge serve` process on a site made for benchmarks: the repository's catalogs, templates and
/// reference registry, one research group (`bench_lab`) that submits to the DOWN benchmark partition
/// with quotas out of the way and an input root as a site would give it, and a store of its own in
/// `directory`.
final class BridgeService: @unchecked Sendable {
    static let group = "bench_lab"
    /// The group's only input root. Nothing is read from it (the jobs never run): request paths only
    /// have to lie under it, and the service checks that by path segments, so it need not exist.
    static let inputRoot = "/data/bench_lab"
    let directory: String
    let baseURL: String
    /// The port it listens on (127.0.0.1).
    var port: Int { URL(string: baseURL)?.port ?? 0 }
    let token: String
    let process: Process

    private init(directory: String, baseURL: String, token: String, process: Process) {
        self.directory = directory
        self.baseURL = baseURL
        self.token = token
        self.process = process
    }

    var configPath: String { directory + "/hpcbridge.yaml" }
    var storePath: String { directory + "/hpcbridge.sqlite" }

    /// Writes the benchmark site's config into `directory` (made from the repository's example config, so
    /// the shipped pipelines validate against the same reference registry) and returns its path.
    @discardableResult
    static func writeSite(in directory: String, repository: String, cluster: BenchCluster, port: Int) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let example = try String(contentsOfFile: repository + "/config/hpcbridge.yaml", encoding: .utf8)
        guard var config = try Yams.load(yaml: example) as? [String: Any] else {
            throw BenchError("config/hpcbridge.yaml is not a YAML mapping")
        }
        config["listen"] = "127.0.0.1:\(port)"
        config["store"] = directory + "/hpcbridge.sqlite"
        config["catalogs"] = repository + "/config/pipelines"
        config["templates"] = repository + "/templates"
        config["clusters"] = ["dev": ["scheduler": "slurm", "mode": "library", "reconcile_interval_seconds": 5]]
        config["research_groups"] = [group: [
            "description": "benchmark submissions (partition \(cluster.partition) is DOWN: jobs queue and never run)",
            "cluster": "dev",
            "account": cluster.account,
            "partition": cluster.partition,
            "run_root": directory + "/runs",
            "input_roots": [inputRoot],
            "allowed_pipelines": ["gatk_variant_calling", "rnaseq_deseq2", "germline_cohort"],
            "quotas": ["max_active_jobs": 10_000_000, "submissions_per_minute": 10_000_000],
        ] as [String: Any]]
        let path = directory + "/hpcbridge.yaml"
        try Yams.dump(object: config).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts `hpcbridge serve` on a fresh port with a new API token and waits until /readyz answers 200.
    static func start(binary: String, directory: String, repository: String, cluster: BenchCluster, client: HTTPClient) async throws -> BridgeService {
        let port = try FreePort.find()
        let config = try writeSite(in: directory, repository: repository, cluster: cluster, port: port)
        let token = try await Shell.checked(binary, ["token", "create", "--group", group, "--label", "benchmark", "--config", config])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", config]
        let logPath = directory + "/serve.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try log.seekToEnd()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let service = BridgeService(directory: directory, baseURL: "http://127.0.0.1:\(port)", token: token, process: process)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            guard process.isRunning else { throw BenchError("hpcbridge serve exited \(process.terminationStatus); see \(logPath)") }
            if let response = try? await client.execute(HTTPClientRequest(url: service.baseURL + "/readyz"), timeout: .seconds(5)) {
                _ = try? await response.body.collect(upTo: 1 << 20)
                if response.status == .ok { return service }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        await service.stop()
        throw BenchError("hpcbridge serve was not ready within 60 s; see \(logPath)")
    }

    /// An authenticated request to the service.
    func request(_ path: String, method: HTTPMethod = .GET, json: String? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        return request
    }

    /// Resident, peak resident and anonymous resident memory (heap and stacks: what the process itself
    /// allocated, without the code pages it maps from its binary and shared libraries), in MB, from /proc.
    func memoryMB() -> (resident: Double, peak: Double, anonymous: Double) {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
                  let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return 0 }
            return kilobytes / 1024
        }
        return (field("VmRSS"), field("VmHWM"), field("RssAnon"))
    }

    /// SIGTERM, as systemd stops it; SIGKILL if it has not exited after 30 s.
    func stop() async {
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        for _ in 0..<300 where !ChildProcess.hasExited(pid) { try? await Task.sleep(for: .milliseconds(100)) }
        ChildProcess.stop(pid)
    }
}
