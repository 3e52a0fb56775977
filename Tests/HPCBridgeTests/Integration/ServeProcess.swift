import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import HPCBridge

/// A real `hpcbridge serve` process on a scratch copy of the shipped config (its own store, run
/// directories, references and port), talking to the live cluster: what end-to-end tests start, kill
/// and restart.
final class ServeProcess: @unchecked Sendable {
    let root: String
    let configPath: String
    let port: Int
    private var process: Process?

    static var binary: String { TestPaths.root + "/.build/debug/hpcbridge" }

    /// `edits` replace text in the shipped config after the scratch paths are set (quotas, partitions).
    init(root: String, graceSeconds: Int = 3, edits: [(String, String)] = []) throws {
        self.root = root
        // Below Linux's ephemeral range (32768-60999): a port there may be the local end of any outgoing
        // connection (libslurm's, a test client's), and then the service cannot bind it.
        port = Int.random(in: 20_000...32_000)
        configPath = root + "/hpcbridge.yaml"
        let config = try TestPaths.shippedConfig(scratch: root, extraInputRoot: root + "/reads")  // the demo reads tests write (DemoDataChecks)
            .replacingOccurrences(of: "listen: 127.0.0.1:8080", with: "listen: 127.0.0.1:\(port)")
            .replacingOccurrences(of: "reconcile_interval_seconds: 5", with: "reconcile_interval_seconds: 1\n    submission_grace_seconds: \(graceSeconds)")
        try TestPaths.write(edits.reduce(config) { $0.replacingOccurrences(of: $1.0, with: $1.1) }, to: configPath)
    }

    /// Starts the service (with extra environment, such as `SLURM_CONF`) and waits until /healthz answers.
    func start(environment: [String: String] = [:]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--config", configPath]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let log = root + "/serve.log"
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
        // Polls counted, not seconds: at the start of the full suite this test may wait 20 s or more for
        // a cooperative thread between two polls while the service is long up.
        for _ in 0..<300 {
            if let response = try? await request("GET", "/healthz"), response.status == 200 { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        stop(signal: SIGKILL)
        throw SchedulerError(.unavailable, operation: "serve", detail: "hpcbridge serve did not come up; log:\n\(self.log.suffix(3000))")
    }

    /// The running service's process id.
    var pid: Int32? { process.flatMap { $0.isRunning ? $0.processIdentifier : nil } }

    var log: String { (try? String(contentsOfFile: root + "/serve.log", encoding: .utf8)) ?? "" }

    /// Sends a signal to the running service without waiting (SIGHUP); false when it is not running.
    func signal(_ signal: Int32) -> Bool {
        guard let process, process.isRunning else { return false }
        return kill(process.processIdentifier, signal) == 0
    }

    /// Sends a signal and waits for the process to end; returns its exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        guard let process, process.isRunning else { return -1 }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        self.process = nil
        return process.terminationStatus
    }

    /// Runs an `hpcbridge` command against this service's config and URL.
    func command(_ arguments: [String], token: String? = nil) throws -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment
        environment["HPCBRIDGE_URL"] = "http://127.0.0.1:\(port)"
        environment["HPCBRIDGE_CONFIG"] = configPath
        if let token { environment["HPCBRIDGE_TOKEN"] = token }
        return try runBlocking(Self.binary, arguments, environment: environment)
    }

    func token(group: String?) throws -> String {
        let result = try command(["token", "create"] + (group.map { ["--group", $0] } ?? ["--admin"]))
        guard result.status == 0 else { throw SchedulerError(.rejected, operation: "token", detail: result.stderr) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct Response: Sendable {
        let status: Int
        let headers: [String: String]
        let body: JSONValue?
    }

    /// One HTTP request; the body is JSON.
    /// `session`: another client's connections (URLSession.shared opens at most 6 to one host, so requests
    /// that hang would make the test's own later requests wait in the client).
    func request(_ method: String, _ path: String, token: String? = nil, body: JSONValue? = nil, headers: [String: String] = [:],
                 session: URLSession = .shared) async throws -> Response {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.jsonText.utf8)
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return Response(status: http.statusCode, headers: fields, body: try? JSONValue.parse(data))
    }

    /// A GET answered with text (`/metrics`, `/openapi.yaml`).
    func text(_ path: String) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return String(decoding: data, as: UTF8.self)
    }

    /// Polls a job until it ends (or the timeout passes); returns its last representation.
    func waitForEnd(_ id: String, token: String, timeout: TimeInterval = 600) async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        var last: JSONValue = .null
        while Date() < deadline {
            last = try await request("GET", "/v1/jobs/\(id)", token: token).body ?? .null
            if let state = last["state"]?.stringValue, ["completed", "failed", "cancelled", "lost"].contains(state) { return last }
            try await Task.sleep(for: .seconds(1))
        }
        // The test fails on the state it expected; this says why the job never got there.
        let why = LiveCluster.explain(native: last["native_job_id"]?.stringValue)
        Issue.record("job \(id) still \(last["state"]?.stringValue ?? "unknown") after \(Int(timeout)) s; \(why)")
        return last
    }
}

/// The scheduler jobs carrying each hpcbridge id, from the controller and from accounting: how tests
/// prove a job ran exactly once.
enum SlurmTags {
    /// Slurm job ids by hpcbridge tag (job UUID), of the jobs since `since` (in `partition` only, if given).
    static func nativeIDs(since: Date, partition: String? = nil) throws -> [String: Set<String>] {
        var byTag: [String: Set<String>] = [:]
        func add(_ native: Substring, _ comment: Substring) {
            guard comment.hasPrefix("hpcbridge:") else { return }
            byTag[String(comment.dropFirst("hpcbridge:".count)), default: []].insert(String(native))
        }
        let only = partition.map { ["-p", $0] } ?? []
        let queue = try runBlocking("/usr/bin/env", ["squeue", "-h", "-t", "all", "-o", "%i|%k"] + only)
        for line in queue.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 1)
            if parts.count == 2 { add(parts[0], parts[1]) }
        }
        let start = ISO8601DateFormatter().string(from: since.addingTimeInterval(-60)).replacingOccurrences(of: "Z", with: "")
        let accounting = try runBlocking("/usr/bin/env", ["sacct", "-a", "-X", "-n", "-P", "-o", "JobIDRaw,Comment", "-S", start] + (partition.map { ["-r", $0] } ?? []))
        for line in accounting.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 1)
            if parts.count == 2 { add(parts[0], parts[1]) }
        }
        return byTag
    }
}

extension SlurmTags {
    /// Scheduler submissions by hpcbridge tag: a job array counts once (its base id), however many
    /// tasks it has split into, from the controller (`%F`) and accounting (`JobID` without `_TASK`).
    static func submissions(since: Date) throws -> [String: Set<String>] {
        var byTag: [String: Set<String>] = [:]
        func add(_ native: Substring, _ comment: Substring) {
            guard comment.hasPrefix("hpcbridge:") else { return }
            let base = native.split(separator: "_").first.map(String.init) ?? String(native)
            byTag[String(comment.dropFirst("hpcbridge:".count)), default: []].insert(base)
        }
        let queue = try runBlocking("/usr/bin/env", ["squeue", "-h", "-t", "all", "-o", "%F|%k"])
        for line in queue.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 1)
            if parts.count == 2 { add(parts[0], parts[1]) }
        }
        let start = ISO8601DateFormatter().string(from: since.addingTimeInterval(-60)).replacingOccurrences(of: "Z", with: "")
        let accounting = try runBlocking("/usr/bin/env", ["sacct", "-a", "-X", "-n", "-P", "-o", "JobID,Comment", "-S", start])
        for line in accounting.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 1)
            if parts.count == 2 { add(parts[0], parts[1]) }
        }
        return byTag
    }
}

/// A copy of the cluster's slurm.conf that points at a port where no controller listens: a service
/// started with it as `SLURM_CONF` sees its controller down, while the real controller (and every
/// other test) carries on.
enum UnreachableController {
    static func slurmConf(in directory: String) throws -> String {
        let original = try String(contentsOfFile: ProcessInfo.processInfo.environment["SLURM_CONF"] ?? "/etc/slurm/slurm.conf", encoding: .utf8)
        let lines = original.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("SlurmctldPort") }
        let path = directory + "/unreachable-slurm.conf"
        // Port 9 (discard) has no listener here: connections are refused at once.
        try TestPaths.write(lines.joined(separator: "\n") + "\nSlurmctldPort=9\n", to: path)
        return path
    }
}
