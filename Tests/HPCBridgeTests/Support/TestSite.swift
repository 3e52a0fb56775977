import Foundation
@testable import HPCBridge

/// The shipped site (config, catalogs, templates), loaded once for rendering tests.
enum TestSite {
    static let shipped: Site = {
        do { return try Site.load(configPath: TestPaths.config) } catch { fatalError("the shipped site must load: \(error)") }
    }()

    /// A fixed job id, so rendered scripts can be compared byte for byte.
    static let jobID = UUID(uuidString: "0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10")!

    /// Reads an example request shipped in config/examples.
    static func example(_ name: String) throws -> JobRequest {
        let document = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: TestPaths.examples + "/\(name).json")))
        return try JobRequest(document: document)
    }

    /// Plans and renders a request with the shipped site.
    static func render(_ request: JobRequest, scheduler: ClusterConfig.Scheduler, site: Site = shipped) throws -> RenderedScript {
        try site.renderer.render(JobPlanner(site: site).plan(request, jobID: jobID, scheduler: scheduler))
    }
}

/// Runs a program and captures its output.
struct ProcessResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a program and waits for it on a thread of its own, not on one of Swift's cooperative threads:
/// the suite runs its tests in parallel on those (two on this machine), and tests that held them while
/// their child processes ran starved every other test for seconds, long enough for wall-clock deadlines
/// (the service's own, on `DeadlineTimer`'s thread) to pass before a ready result could be seen.
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil, input: Data? = nil) async throws -> ProcessResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            processSlots.wait()
            defer { processSlots.signal() }
            // Niced: the children (shells of the injection and property tests, the demo's tools) use
            // the CPU the test process and the services under test leave over, not the other way round.
            continuation.resume(with: Result {
                try runBlocking("/usr/bin/nice", ["-n", "10", executable] + arguments, environment: environment, directory: directory, input: input)
            })
        }
    }
}

/// At most two child processes at a time, as when each held a cooperative thread: the property tests
/// start hundreds of shells, and all at once they take the CPU from every other test.
private let processSlots = DispatchSemaphore(value: 2)

/// `run` for the few places that cannot wait asynchronously (a lazily computed constant, a deinit).
func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil, input: Data? = nil) throws -> ProcessResult {
    // Output goes to files, not pipes: a child that fills one pipe while the parent drains the other
    // would block forever.
    let scratch = NSTemporaryDirectory() + "hpcbridge-run-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: scratch + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: scratch + ".err", contents: nil)
    _ = FileManager.default.createFile(atPath: scratch + ".in", contents: input ?? Data())
    defer { for suffix in [".out", ".err", ".in"] { try? FileManager.default.removeItem(atPath: scratch + suffix) } }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + ".out"))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + ".err"))
    process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: scratch + ".in"))
    try process.run()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus,
                         stdout: (try? String(contentsOfFile: scratch + ".out", encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: scratch + ".err", encoding: .utf8)) ?? "")
}
