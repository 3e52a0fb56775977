import Foundation

/// The part of the dev cluster the benchmarks use: a partition that is DOWN, so jobs queue there and
/// never start (they would compete for the CPUs being measured), and the controller's RPC counters.
struct BenchCluster: Sendable {
    static let partition = "hpcbridge_bench"
    /// The Slurm account every benchmark job is charged to (it must have an association for this user).
    let account: String
    var partition: String { Self.partition }

    /// Checks that a controller answers and creates the benchmark partition when it is missing. The
    /// partition is created with `scontrol create`, not in slurm.conf, so the dev cluster stays as the
    /// tests expect it; Slurm keeps it in its saved state until a reconfigure.
    func prepare() async throws {
        let ping = try await Shell.run("scontrol", ["ping"])
        guard ping.status == 0, ping.stdoutText.contains("UP") else {
            throw BenchError("no Slurm controller answers `scontrol ping`; start the dev cluster with `make cluster` (as root)")
        }
        let show = try await Shell.run("scontrol", ["-o", "show", "partition", partition])
        if show.status != 0 {
            try await Shell.checked("scontrol", ["create", "PartitionName=\(partition)", "Nodes=ALL", "MaxTime=INFINITE", "State=DOWN", "Default=NO"])
        } else if !show.stdoutText.contains("State=DOWN") {
            try await Shell.checked("scontrol", ["update", "PartitionName=\(partition)", "State=DOWN"])
        }
    }

    /// Jobs of the benchmark partition that still wait in the queue.
    func queuedJobs() async throws -> Int {
        let output = try await Shell.checked("squeue", ["-h", "-p", partition, "-t", "PENDING", "-o", "%i"])
        return output.split(separator: "\n").count
    }

    /// Pending array tasks and jobs of the benchmark partition, each task of an array counted (`squeue -r`).
    func queuedTasks() async throws -> Int {
        let output = try await Shell.checked("squeue", ["-h", "-r", "-p", partition, "-t", "PENDING", "-o", "%i"])
        return output.split(separator: "\n").count
    }

    /// Cancels every queued job of the benchmark partition and waits until the queue is empty.
    func clear() async throws {
        guard try await queuedJobs() > 0 else { return }
        try await Shell.checked("scancel", ["-p", partition, "-t", "PENDING"])
        let deadline = Date().addingTimeInterval(900)
        while try await queuedJobs() > 0 {
            guard Date() < deadline else { throw BenchError("jobs of partition \(partition) were still queued 15 minutes after scancel") }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Waits until the controller has purged every ended job of the benchmark partition (cancelled jobs
    /// stay MinJobAge seconds and then go in batches), so a snapshot holds what is measured and not the
    /// earlier benchmarks' leftovers. Returns the seconds waited; gives up after `limit` seconds.
    func waitForPurge(limit: Double = 300) async throws -> Double {
        let start = Date()
        while Date().timeIntervalSince(start) < limit {
            let listed = try await Shell.checked("squeue", ["-h", "-p", partition, "-t", "all", "-o", "%i"])
            if listed.split(separator: "\n").isEmpty { break }
            try await Task.sleep(for: .seconds(2))
        }
        return Date().timeIntervalSince(start)
    }

    /// `scontrol hold` or `release` for many jobs, a thousand ids per call.
    func update(_ verb: String, _ jobIDs: [String]) async throws {
        for start in stride(from: 0, to: jobIDs.count, by: 1000) {
            try await Shell.checked("scontrol", [verb, jobIDs[start..<min(start + 1000, jobIDs.count)].joined(separator: ",")])
        }
    }

    /// The controller's RPC counters by message type (`sdiag`), since its last start or `sdiag -r`.
    func rpcCounts() async throws -> [String: Int] {
        Self.parseRPCCounts(try await Shell.checked("sdiag", []))
    }

    /// RPCs the controller received between two readings, without the `sdiag` calls themselves.
    static func rpcDelta(from before: [String: Int], to after: [String: Int]) -> [String: Int] {
        var delta: [String: Int] = [:]
        for (type, count) in after where type != "REQUEST_STATS_INFO" {
            let difference = count - (before[type] ?? 0)
            if difference > 0 { delta[type] = difference }
        }
        return delta
    }

    /// Parses sdiag's "Remote Procedure Call statistics by message type" section.
    static func parseRPCCounts(_ text: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        var inSection = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Remote Procedure Call statistics by message type") { inSection = true; continue }
            if line.hasPrefix("Remote Procedure Call statistics by user") { break }
            guard inSection else { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let type = fields.first, let count = fields.first(where: { $0.hasPrefix("count:") }),
                  let value = Int(count.dropFirst("count:".count)) else { continue }
            counts[String(type)] = value
        }
        return counts
    }

    /// "slurm 22.05.8", as the controller's tools report it.
    static func version() async -> String {
        ((try? await Shell.checked("sinfo", ["-V"])) ?? "unknown").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
