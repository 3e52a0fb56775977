import Foundation
import HPCBridgeServer
import Hummingbird
import HummingbirdTesting
import Logging
@testable import HPCBridge

/// The job service on a scratch copy of the shipped site: its own store, run directories under scratch
/// space, optional quota overrides, and a scheduler of the test's choosing (by default the in-memory
/// fake; integration tests pass the live Slurm adapter).
struct TestService {
    let directory: String
    let site: Site
    let assembly: ServiceAssembly
    let logs: CapturedLogs
    var store: JobStore { assembly.store }
    var reconciler: Reconciler { assembly.reconcilers[0] }

    /// `schedulerWait`: how long a request waits for its immediate submission; long by default, so a
    /// test under the full suite's load sees the submission done (the hang tests pass a short one).
    init(scheduler: any BatchScheduler, quotas: (maxActive: Int, perMinute: Int)? = nil, submissionGrace: TimeInterval = 60,
         schedulerWait: Duration = .seconds(30), editConfig: (String) -> String = { $0 }) throws {
        directory = try TestPaths.scratchDirectory("service")
        var config = try TestPaths.shippedConfig(scratch: directory)
        if let quotas {
            config = config.replacingOccurrences(of: #"quotas: \{max_active_jobs: \d+, submissions_per_minute: \d+\}"#,
                                                 with: "quotas: {max_active_jobs: \(quotas.maxActive), submissions_per_minute: \(quotas.perMinute)}",
                                                 options: .regularExpression)
        }
        try TestPaths.write(editConfig(config), to: directory + "/hpcbridge.yaml")
        site = try Site.load(configPath: directory + "/hpcbridge.yaml")
        logs = CapturedLogs()
        let captured = logs
        let logger = Logger(label: "test") { _ in CapturingLogHandler(sink: captured) }
        assembly = try ServiceAssembly(site: site, store: try JobStore(path: site.config.storePath), schedulers: ["dev": scheduler],
                                       submissionGrace: submissionGrace, schedulerWait: schedulerWait, logger: logger)
    }

    func token(group: String?) throws -> String {
        try APITokens(store: store).create(group: group, label: "test").token
    }

    /// Runs `body` against the router in process (no socket).
    func withClient(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let logger = Logger(label: "http") { [logs] _ in CapturingLogHandler(sink: logs) }
        let app = Application(router: try buildRouter(service: assembly.service, logger: logger), logger: logger)
        try await app.test(.router, body)
    }
}

/// Every log line and its metadata, so tests can check what is (and is not) logged.
final class CapturedLogs: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

struct CapturingLogHandler: LogHandler {
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        sink.append("\(event.level) \(event.message) \(merged)")
    }
}
