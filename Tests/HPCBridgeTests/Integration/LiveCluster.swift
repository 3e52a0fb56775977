import Foundation
import Testing
@testable import HPCBridge

/// Access to the live Slurm cluster (the dev cluster from contrib/dev-cluster/up, or a real one).
///
/// Tests that need it run when it answers. With `HPCBRIDGE_REQUIRE_SLURM=1` (CI) they also run when it
/// does not, and fail, so a broken cluster setup can never pass as "skipped".
enum LiveCluster {
    static let required = ProcessInfo.processInfo.environment["HPCBRIDGE_REQUIRE_SLURM"] == "1"
    static let available: Bool = (try? run("/usr/bin/env", ["sinfo", "-h"]))?.status == 0
    static var enabled: Bool { available || required }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "the Slurm cluster does not answer (sinfo failed); run contrib/dev-cluster/up as root" }
    }

    static func check() throws {
        guard available else { throw Unavailable() }
    }

    /// The account the dev cluster registers for the submitting user.
    static let account = "cancer_genomics_lab"

    /// A spec for a small test job with its own run directory.
    static func spec(_ body: String, name: String, seconds: Int = 600, memoryMB: Int = 256, hold: Bool = false) throws -> BatchJobSpec {
        let id = UUID()
        let directory = NSTemporaryDirectory() + "hpcbridge-it/\(id.uuidString.lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return BatchJobSpec(
            script: "#!/bin/bash\n\(body)\n", name: name, account: account,
            resources: ResourceRequest(cpus: 1, memoryMB: memoryMB, timeLimitSeconds: seconds),
            workingDirectory: directory, stdoutPath: directory + "/stdout.log", stderrPath: directory + "/stderr.log",
            comment: "hpcbridge:\(id.uuidString.lowercased())", hold: hold)
    }

    /// Polls until `predicate` holds for the job, or the job leaves the controller; returns the last
    /// state seen (from accounting when the controller has forgotten the job).
    static func waitFor(_ id: NativeJobID, on scheduler: some BatchScheduler, since: Date, timeout: TimeInterval = 300,
                        until predicate: (SchedulerJobState) -> Bool = { $0.status.isTerminal }) async throws -> SchedulerJobState {
        let deadline = Date().addingTimeInterval(timeout)
        var last: SchedulerJobState?
        while Date() < deadline {
            let snapshot = try await scheduler.states(changedSince: nil)
            if let state = snapshot.jobs[id] ?? (snapshot.unchanged ? last : nil) {
                last = state
                if predicate(state) { return state }
            } else if let state = try await scheduler.accountingStates(for: [id], since: since)[id] {
                return state
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw TimedOut(id: id, last: last)
    }

    struct TimedOut: Error, CustomStringConvertible {
        let id: NativeJobID
        let last: SchedulerJobState?
        var description: String { "job \(id) did not reach the expected state; last seen: \(String(describing: last))" }
    }

    /// Runs `body`; if it fails, cancels the job so a failed test does not leave work on the cluster.
    static func cancelling<T>(_ id: NativeJobID, on scheduler: some BatchScheduler, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch {
            try? await scheduler.cancel(id)
            throw error
        }
    }

    /// Runs an admin command (scontrol) and fails the test with its message when it fails.
    static func scontrol(_ arguments: String...) throws {
        let result = try run("/usr/bin/env", ["scontrol"] + arguments)
        if result.status != 0 { throw SchedulerError(.rejected, operation: "scontrol", detail: result.stderr) }
    }
}
