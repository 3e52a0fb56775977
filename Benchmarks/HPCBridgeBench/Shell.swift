import Foundation
import HPCBridge

/// A failure of the harness itself, in words that say what to do about it.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs the Slurm CLI and the other tools the harness drives, through the service's own
/// `CommandRunner` (swift-subprocess, no shell, with a time limit).
enum Shell {
    static let runner = CommandRunner()

    /// Runs a program to completion (at most 15 minutes: `scancel` of 50,000 jobs is the longest).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) async throws -> CommandRunner.Output {
        try await runner.run(executable, arguments, timeout: .seconds(900), operation: "benchmark")
    }

    /// Runs a program that must succeed, and returns what it printed.
    @discardableResult
    static func checked(_ executable: String, _ arguments: [String]) async throws -> String {
        let output = try await run(executable, arguments)
        guard output.status == 0 else {
            throw BenchError("`\(([executable] + arguments).joined(separator: " "))` exited \(output.status): \(output.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return output.stdoutText
    }

    /// The full path of a program: as given when it contains a slash, otherwise searched on $PATH.
    static func locate(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw BenchError("`\(executable)` is not installed or not on $PATH (make bench installs wrk and socat; the Slurm tools come with `make cluster`)")
    }
}

/// Waiting for the daemons the harness starts with Foundation's `Process` (slurmrestd, socat, serve)
/// without `Process.waitUntilExit`, which busy-waits when called off the main thread, and whose exit
/// notice was seen here to go missing for a killed child.
enum ChildProcess {
    /// True once the process is gone or a zombie (exited, not yet reaped by Foundation).
    static func hasExited(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: afterName)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// The processes whose parent is `pid` (socat's per-connection children), from /proc.
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                  let afterName = stat.lastIndex(of: ")") else { return false }
            // After the command name: state, then the parent's pid.
            let fields = stat[stat.index(after: afterName)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    /// SIGTERM, and SIGKILL when the process has not exited after five seconds.
    static func stop(_ pid: Int32) {
        guard !hasExited(pid) else { return }
        kill(pid, SIGTERM)
        for _ in 0..<50 where !hasExited(pid) { usleep(100_000) }
        if !hasExited(pid) { kill(pid, SIGKILL) }
        while !hasExited(pid) { usleep(10_000) }
    }
}
