import Foundation

/// PBS (OpenPBS / PBS Pro) through `qsub`, `qstat -f -F json -x -t` and `qdel`.
///
/// One `qstat` per cycle for every job (with `-x`, finished jobs stay visible from the server's
/// history, which also serves as accounting; with `-t`, every subjob of an array is listed as well as
/// the array). The hpcbridge job id travels as the job variable `HPCBRIDGE_JOB_ID`.
public struct PBSCLIScheduler: BatchScheduler {
    public let path = "pbs-cli"
    public var runner: CommandRunner
    public var timeout: Duration
    public var accountingChunk: Int

    public init(runner: CommandRunner = CommandRunner(), timeout: Duration = .seconds(30), accountingChunk: Int = 200) {
        self.runner = runner
        self.timeout = timeout
        self.accountingChunk = accountingChunk
    }

    /// The qsub options for a spec. PBS has no working-directory option: the prologue changes into the
    /// run directory itself. Throws where PBS cannot express the spec (see `pbsArrayAndDependencyArguments`).
    static func qsubArguments(_ job: BatchJobSpec) throws -> [String] {
        var select = "1:ncpus=\(job.resources.cpus):mem=\(job.resources.memoryMB)mb"
        if job.resources.gpus > 0 { select += ":ngpus=\(job.resources.gpus)" }
        var variables = ["HPCBRIDGE_JOB_ID=\(job.comment.dropFirst("hpcbridge:".count))"]
        variables += job.environment.keys.sorted().map { "\($0)=\(job.environment[$0]!)" }
        var arguments = ["-N", job.name, "-A", job.account, "-l", "select=\(select)",
                         "-l", "walltime=\(ResourceQuantities.pbsWalltime(seconds: job.resources.timeLimitSeconds))",
                         "-o", job.stdoutPath, "-e", job.stderrPath, "-v", variables.joined(separator: ",")]
        if let queue = job.partition { arguments += ["-q", queue] }
        if job.hold { arguments.append("-h") }
        return arguments + (try job.pbsArrayAndDependencyArguments())
    }

    public func submit(_ job: BatchJobSpec) async throws -> NativeJobID {
        let output = try await runner.run("qsub", try Self.qsubArguments(job), input: job.script, timeout: timeout, operation: "submit")
        guard output.status == 0 else { throw Self.error(output, operation: "submit", command: "qsub") }
        let id = output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let first = id.first, first.isNumber, !id.contains(" ") else {
            throw SchedulerError(.malformedOutput, operation: "submit", detail: "qsub printed \(JSONValue.quote(output.stdoutText))")
        }
        return NativeJobID(id)
    }

    /// One `qdel` for every job (in chunks of `accountingChunk` ids). A job that afterok-depends on a
    /// deleted one is deleted by the server itself.
    public func cancel(_ ids: [NativeJobID]) async throws {
        for start in stride(from: 0, to: ids.count, by: max(1, accountingChunk)) {
            let chunk = ids[start..<min(ids.count, start + accountingChunk)].map(\.rawValue)
            let output = try await runner.run("qdel", chunk, timeout: timeout, operation: "cancel")
            guard output.status != 0 else { continue }
            // A job that already ended is not an error for the caller.
            guard output.complainsOnlyOf(["Job has finished", "Unknown Job Id", "job has finished"]) else {
                throw Self.error(output, operation: "cancel", command: "qdel")
            }
        }
    }

    /// The server's `max_array_size` from `qstat -B -f -F json`; PBS's own default (10000) when unset.
    public func limits() async throws -> SchedulerLimits {
        let output = try await runner.run("qstat", ["-B", "-f", "-F", "json"], timeout: timeout, operation: "limits")
        guard output.status == 0 else { throw Self.error(output, operation: "limits", command: "qstat -B") }
        return try Self.limits(serverStatus: output.stdout)
    }

    /// PBS Professional's default server `max_array_size`.
    static let defaultMaxArraySize = 10_000

    /// The limits in `qstat -B -f -F json` output, read once: the (first) server's `max_array_size`
    /// (PBS's default when unset) and `pbs_version`.
    static func limits(serverStatus json: Data) throws -> SchedulerLimits {
        guard let document = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
              let servers = document["Server"] as? [String: Any] else {
            throw SchedulerError(.malformedOutput, operation: "limits", detail: "qstat -B -f -F json printed no \"Server\" object")
        }
        let attributes = servers.values.first as? [String: Any]
        let maxArrayTasks = switch attributes?["max_array_size"] {
        case let number as NSNumber: number.intValue
        case let text as String: Int(text) ?? defaultMaxArraySize
        default: defaultMaxArraySize
        }
        return SchedulerLimits(maxArrayTasks: maxArrayTasks, version: attributes?["pbs_version"] as? String)
    }

    public func states(changedSince: Date?) async throws -> SchedulerSnapshot {
        let output = try await runner.run("qstat", ["-f", "-F", "json", "-x", "-t"], timeout: timeout, operation: "states")
        guard output.status == 0 else { throw Self.error(output, operation: "states", command: "qstat") }
        return SchedulerSnapshot(takenAt: Date(), states: try QstatJSONParser.parse(output.stdout))
    }

    public func accountingStates(for ids: [NativeJobID], since: Date) async throws -> [NativeJobID: SchedulerJobState] {
        var result: [NativeJobID: SchedulerJobState] = [:]
        for start in stride(from: 0, to: ids.count, by: max(1, accountingChunk)) {
            let chunk = ids[start..<min(ids.count, start + accountingChunk)].map(\.rawValue)
            let output = try await runner.run("qstat", ["-f", "-F", "json", "-x", "-t"] + chunk, timeout: timeout, operation: "accounting")
            // qstat prints the jobs it knows and complains about the others; both are useful.
            guard output.status == 0 || !output.stdout.isEmpty else { throw Self.error(output, operation: "accounting", command: "qstat") }
            for state in try QstatJSONParser.parse(output.stdout) where state.status.isTerminal { result[state.id] = state }
        }
        return result
    }

    public func accountingJobs(tagged tags: Set<UUID>, since: Date) async throws -> [UUID: SchedulerJobState] {
        guard !tags.isEmpty else { return [:] }
        return SchedulerJobState.tagged(try await states(changedSince: nil).jobs.values, in: tags)
    }

    static func error(_ output: CommandRunner.Output, operation: String, command: String) -> SchedulerError {
        let message = output.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        let transient = ["cannot connect to server", "Connection refused", "timed out", "Communication failure"]
        let kind: SchedulerError.Kind = transient.contains(where: message.contains) ? .unavailable : .rejected
        return SchedulerError(kind, operation: operation, detail: "\(command) exited with \(output.status): \(message.isEmpty ? "(no message)" : message)")
    }
}
