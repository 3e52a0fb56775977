import Foundation
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs scheduler commands (`sbatch`, `squeue`, `qstat`, ...) without a shell, with a time limit.
///
/// Arguments go to the program as they are (no shell parses them), the script goes in on standard
/// input, and a command that hangs (slurmctld overloaded, a stale NFS mount) is terminated after its
/// time limit instead of stalling the reconciler.
public struct CommandRunner: Sendable {
    /// What a finished command left.
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: Data
        public let stderr: String
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }

        /// True when standard error has complaints and each line names one of `phrases`: how `scancel`
        /// and `qdel` report, a line per id, the jobs that had already ended.
        public func complainsOnlyOf(_ phrases: [String]) -> Bool {
            let complaints = stderr.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            return !complaints.isEmpty && complaints.allSatisfy { line in phrases.contains(where: line.contains) }
        }
    }

    /// Extra environment for every command (`SLURM_TIME_FORMAT`, a test's PATH).
    public var environment: [String: String]
    /// Largest output collected; `squeue --json` is about 3 KB per job.
    public var outputLimit: Int

    public init(environment: [String: String] = [:], outputLimit: Int = 1 << 30) {
        self.environment = environment
        self.outputLimit = outputLimit
    }

    /// The full path of a program on PATH, or nil when no directory on PATH has it.
    public static func locate(_ program: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs `program` (a name found on PATH, or a path when it contains a slash) with `arguments`, feeding
    /// `input`; throws `SchedulerError` when it cannot start (`unavailable`) or exceeds `timeout` (`timeout`).
    public func run(_ program: String, _ arguments: [String], input: String? = nil, timeout: Duration = .seconds(30),
                    operation: String) async throws -> Output {
        let environment = self.environment
        let limit = outputLimit
        do {
            return try await withThrowingTaskGroup(of: Output?.self) { group in
                group.addTask {
                    var options = PlatformOptions()
                    options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .seconds(2))]
                    let env: Environment = environment.isEmpty ? .inherit : .inherit.updating(
                        Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(rawValue: $0.key)!, Optional($0.value)) }))
                    let result = try await Subprocess.run(
                        program.contains("/") ? .path(FilePath(program)) : .name(program), arguments: Arguments(arguments), environment: env, platformOptions: options,
                        input: .string(input ?? ""), output: .bytes(limit: limit), error: .string(limit: 1 << 20))
                    let status: Int32
                    switch result.terminationStatus {
                    case .exited(let code): status = code
                    case .signaled(let signal): status = 128 + signal
                    }
                    return Output(status: status, stdout: Data(result.standardOutput), stderr: result.standardError)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                guard let first = try await group.next() else { throw CancellationError() }
                group.cancelAll()
                guard let output = first else {
                    throw SchedulerError(.timeout, operation: operation, detail: "\(program) did not answer within \(timeout); the controller may be overloaded")
                }
                return output
            }
        } catch let error as SchedulerError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw SchedulerError(.unavailable, operation: operation, detail: "cannot run \(program): \(error); is it installed and on PATH?")
        }
    }
}
