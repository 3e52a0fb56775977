import Foundation

/// A failure of the harness itself, in words that say what to do about it.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs the Slurm CLI and the other tools the harness drives, and captures what they print.
enum Shell {
    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program to completion. Both pipes are drained while it runs, so a chatty tool never blocks.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try locate(executable))
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errors = PipeDrain(stderr.fileHandleForReading)
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        // The pipes are closed, so the program has exited or is about to.
        while process.isRunning, !ChildProcess.hasExited(process.processIdentifier) { usleep(200) }
        for _ in 0..<25_000 where process.isRunning { usleep(200) }
        guard !process.isRunning else { throw BenchError("`\(executable)` exited but its exit status never arrived") }
        return Output(status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self), stderr: errors.wait())
    }

    /// Runs a program that must succeed, and returns what it printed.
    @discardableResult
    static func checked(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let output = try run(executable, arguments, environment: environment)
        guard output.status == 0 else {
            throw BenchError("`\(([executable] + arguments).joined(separator: " "))` exited \(output.status): \(output.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return output.stdout
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

/// Reads a pipe to its end on a background thread.
private final class PipeDrain: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }
    }

    func wait() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Waiting for child processes without Foundation's `Process.waitUntilExit`, which busy-waits when
/// called off the main thread, and whose exit notice was seen here to go missing for a killed child.
enum ChildProcess {
    /// True once the process is gone or a zombie (exited, not yet reaped by Foundation).
    static func hasExited(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: afterName)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
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
