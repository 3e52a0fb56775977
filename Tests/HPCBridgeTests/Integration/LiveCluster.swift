import Foundation
import Testing
@testable import HPCBridge

/// Access to the live Slurm cluster (the dev cluster from contrib/dev-cluster/up, or a real one).
///
/// Tests that need it run when it answers. With `HPCBRIDGE_REQUIRE_SLURM=1` (CI) they also run when it
/// does not, and fail, so a broken cluster setup can never pass as "skipped".
enum LiveCluster {
    static let required = ProcessInfo.processInfo.environment["HPCBRIDGE_REQUIRE_SLURM"] == "1"
    static let available: Bool = (try? runBlocking("/usr/bin/env", ["sinfo", "-h"]))?.status == 0
    static var enabled: Bool { available || required }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "the Slurm cluster does not answer (sinfo failed); run contrib/dev-cluster/up as root" }
    }

    /// Fails when the cluster does not answer, or when no node can take work (all drained, down, failed
    /// or not responding): with Slurm's reason, at once, instead of a later timeout that cannot say why a
    /// job never started. A real cluster with some nodes drained, as is usual, passes.
    static func check() throws {
        guard available else { throw Unavailable() }
        if let nodes = try nodeStates(), nodes.usable.isEmpty, let report = nodes.unusableReport {
            throw NodesUnusable(report: report)
        }
    }

    struct NodesUnusable: Error, CustomStringConvertible {
        let report: String
        var description: String {
            "no job can start: \(report); see /var/log/slurm/slurmd.log, then `scontrol update nodename=NODE state=resume`"
        }
    }

    /// What Slurm says of a job that did not end in time: its state and reason in the queue, and the
    /// nodes that take no work; for test failure messages.
    static func explain(native: String?) -> String {
        guard let native else { return "never reached Slurm" }
        let queued = (try? runBlocking("/usr/bin/env", ["squeue", "-h", "-j", native, "-o", "%T, reason %r"]))?.stdout
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let nodes = (try? nodeStates())??.unusableReport
        return "Slurm job \(native): " + (queued.isEmpty ? "not in the queue" : queued)
            + (nodes.map { "; nodes that take no work: \($0)" } ?? "")
    }

    /// The nodes that can take work, and "state (reason)" of those that cannot, by node name.
    struct NodeStates {
        var usable: Set<String> = []
        var unusable: [String: String] = [:]
        var unusableReport: String? {
            unusable.isEmpty ? nil : unusable.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
    }

    /// What sinfo says of each node (listed once per partition; the state is the node's own), or nil when
    /// the controller does not answer, which is the caller's to see.
    static func nodeStates() throws -> NodeStates? {
        let listed = try runBlocking("/usr/bin/env", ["sinfo", "-h", "-N", "-o", "%N|%t|%E"])
        guard listed.status == 0 else { return nil }
        var nodes = NodeStates()
        for line in listed.stdout.split(separator: "\n") {
            let fields = line.split(separator: "|", maxSplits: 2).map(String.init)
            guard fields.count == 3 else { continue }
            let (name, state) = (fields[0], fields[1])
            let broken = state.hasSuffix("*") || ["drain", "drng", "down", "fail", "failg", "inval"].contains { state.hasPrefix($0) }
            if broken { nodes.unusable[name] = "\(state) (\(fields[2]))" } else { nodes.usable.insert(name) }
        }
        return nodes
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
        throw TimedOut(id: id, last: last, why: explain(native: id.rawValue))
    }

    /// `waitFor` for several jobs at once: each job's state is taken from the snapshot in which it is first
    /// seen ended, so one that ends while another is still running is not left to be purged from the
    /// controller (after MinJobAge accounting is all that is left, which keeps less: no dependency reason).
    static func waitForAll(_ ids: [NativeJobID], on scheduler: some BatchScheduler, since: Date,
                           timeout: TimeInterval = 300) async throws -> [NativeJobID: SchedulerJobState] {
        let deadline = Date().addingTimeInterval(timeout)
        var ended: [NativeJobID: SchedulerJobState] = [:]
        var last: [NativeJobID: SchedulerJobState] = [:]
        while Date() < deadline {
            let snapshot = try await scheduler.states(changedSince: nil)
            var missing: Set<NativeJobID> = []
            for id in ids where ended[id] == nil {
                if let state = snapshot.jobs[id] ?? (snapshot.unchanged ? last[id] : nil) {
                    last[id] = state
                    if state.status.isTerminal { ended[id] = state }
                } else {
                    missing.insert(id)
                }
            }
            if !missing.isEmpty {
                for (id, state) in try await scheduler.accountingStates(for: Array(missing), since: since) { ended[id] = state }
            }
            if ended.count == ids.count { return ended }
            try await Task.sleep(for: .milliseconds(500))
        }
        let waiting = ids.first { ended[$0] == nil } ?? ids[0]
        throw TimedOut(id: waiting, last: last[waiting], why: explain(native: waiting.rawValue))
    }

    struct TimedOut: Error, CustomStringConvertible {
        let id: NativeJobID
        let last: SchedulerJobState?
        /// What Slurm said of the job and the nodes when the wait gave up (`explain`).
        let why: String
        var description: String { "job \(id) did not reach the expected state; last seen: \(String(describing: last)); \(why)" }
    }

    /// Runs `body`; if it fails, cancels the job so a failed test does not leave work on the cluster.
    static func cancelling<T>(_ id: NativeJobID, on scheduler: some BatchScheduler, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch {
            try? await scheduler.cancel(id)
            throw error
        }
    }

    /// A value of the controller's configuration (`scontrol show config`), such as `MaxArraySize`.
    static func configValue(_ name: String) throws -> String? {
        let result = try runBlocking("/usr/bin/env", ["scontrol", "show", "config"])
        guard result.status == 0 else { throw SchedulerError(.unavailable, operation: "scontrol", detail: result.stderr) }
        return result.stdout.split(separator: "\n").lazy.map { $0.split(separator: "=", maxSplits: 1) }
            .first { $0.count == 2 && $0[0].trimmingCharacters(in: .whitespaces) == name }
            .map { $0[1].trimmingCharacters(in: .whitespaces) }
    }

    /// Runs an admin command (scontrol) and fails the test with its message when it fails.
    static func scontrol(_ arguments: String...) throws {
        let result = try runBlocking("/usr/bin/env", ["scontrol"] + arguments)
        if result.status != 0 { throw SchedulerError(.rejected, operation: "scontrol", detail: result.stderr) }
    }
}
