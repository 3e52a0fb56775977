import Foundation

/// Slurm through its command-line tools: the fallback when libslurm cannot be used, and the path that
/// works against any Slurm version.
///
/// Costs the controller one RPC per call: `squeue --json` once per cycle for all jobs (filtered here,
/// because 22.05 ignores `-j` with `--json`), `sacct` with an explicit `--starttime` and at most
/// `accountingChunk` ids per call.
public struct SlurmCLIScheduler: BatchScheduler {
    public let path = "slurm-cli"
    public var runner: CommandRunner
    public var timeout: Duration
    /// Job ids per `sacct -j` call: keeps argument lists short and each accounting query small.
    public var accountingChunk: Int

    public init(runner: CommandRunner = CommandRunner(), timeout: Duration = .seconds(30), accountingChunk: Int = 500) {
        var runner = runner
        runner.environment["SLURM_TIME_FORMAT"] = "%s"
        // squeue and sacct cut an array's pending task list at 64 bytes ("...") unless this is 0.
        runner.environment["SLURM_BITSTR_LEN"] = "0"
        self.runner = runner
        self.timeout = timeout
        self.accountingChunk = accountingChunk
    }

    /// The sbatch options for a spec (they override the script's `#SBATCH` lines, so both paths submit
    /// the same job).
    static func sbatchArguments(_ job: BatchJobSpec) -> [String] {
        var arguments = [
            "--parsable", "--job-name=\(job.name)", "--account=\(job.account)",
            "--nodes=1", "--ntasks=1", "--cpus-per-task=\(job.resources.cpus)", "--mem=\(job.resources.memoryMB)M",
            "--time=\(ResourceQuantities.slurmTime(seconds: job.resources.timeLimitSeconds))",
            "--chdir=\(job.workingDirectory)", "--output=\(job.stdoutPath)", "--error=\(job.stderrPath)",
            "--comment=\(job.comment)",
        ]
        if let partition = job.partition { arguments.append("--partition=\(partition)") }
        if let qos = job.qos { arguments.append("--qos=\(qos)") }
        if job.resources.gpus > 0 { arguments.append("--gpus=\(job.resources.gpus)") }
        if job.hold { arguments.append("--hold") }
        if let array = job.array { arguments.append("--array=\(array.indexList)") }
        if let dependency = job.slurmDependency { arguments.append("--dependency=\(dependency)") }
        if job.killOnInvalidDependency { arguments.append("--kill-on-invalid-dep=yes") }
        if !job.environment.isEmpty {
            arguments.append("--export=ALL," + job.environment.keys.sorted().map { "\($0)=\(job.environment[$0]!)" }.joined(separator: ","))
        }
        return arguments
    }

    public func submit(_ job: BatchJobSpec) async throws -> NativeJobID {
        try job.checkForSlurm()
        let output = try await runner.run("sbatch", Self.sbatchArguments(job), input: job.script, timeout: timeout, operation: "submit")
        guard output.status == 0 else { throw Self.error(output, operation: "submit", command: "sbatch") }
        // --parsable prints "id" or "id;cluster".
        let id = output.stdoutText.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard !id.isEmpty, id.allSatisfy({ $0.isNumber || $0 == "_" }) else {
            throw SchedulerError(.malformedOutput, operation: "submit", detail: "sbatch --parsable printed \(JSONValue.quote(output.stdoutText))")
        }
        return NativeJobID(id)
    }

    /// One `scancel` for every job (in chunks of `accountingChunk` ids, so the argument list stays short).
    public func cancel(_ ids: [NativeJobID]) async throws {
        for start in stride(from: 0, to: ids.count, by: max(1, accountingChunk)) {
            let chunk = ids[start..<min(ids.count, start + accountingChunk)].map(\.rawValue)
            let output = try await runner.run("scancel", chunk, timeout: timeout, operation: "cancel")
            guard output.status != 0 else { continue }
            // Cancelling a job that already ended is not an error for the caller.
            guard output.complainsOnlyOf(["already completing or completed", "Invalid job id", "Job/step already completing"]) else {
                throw Self.error(output, operation: "cancel", command: "scancel")
            }
        }
    }

    /// MaxArraySize and the controller's version from `scontrol show config` (one RPC, as the library's
    /// slurm_load_ctl_conf).
    public func limits() async throws -> SchedulerLimits {
        let output = try await runner.run("scontrol", ["show", "config"], timeout: timeout, operation: "limits")
        guard output.status == 0 else { throw Self.error(output, operation: "limits", command: "scontrol show config") }
        return SchedulerLimits(maxArrayTasks: Self.configValue("MaxArraySize", in: output.stdoutText).flatMap { Int($0) },
                               version: Self.configValue("SLURM_VERSION", in: output.stdoutText))
    }

    /// The value of `Name = value` in `scontrol show config` output.
    static func configValue(_ name: String, in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name else { continue }
            return parts[1].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    public func states(changedSince: Date?) async throws -> SchedulerSnapshot {
        let output = try await runner.run("squeue", ["--json"], timeout: timeout, operation: "states")
        guard output.status == 0 else { throw Self.error(output, operation: "states", command: "squeue") }
        return SchedulerSnapshot(takenAt: Date(), states: try SqueueJSONParser.parse(output.stdout))
    }

    public func accountingStates(for ids: [NativeJobID], since: Date) async throws -> [NativeJobID: SchedulerJobState] {
        var result: [NativeJobID: SchedulerJobState] = [:]
        let start = Self.sacctTime(since.addingTimeInterval(-60))
        for chunkStart in stride(from: 0, to: ids.count, by: max(1, accountingChunk)) {
            let chunk = ids[chunkStart..<min(ids.count, chunkStart + accountingChunk)]
            let arguments = ["-X", "-P", "-n", "--starttime=\(start)", "--endtime=now", "-o", SacctParser.fields.joined(separator: ","),
                             "-j", chunk.map(\.rawValue).joined(separator: ",")]
            let output = try await runner.run("sacct", arguments, timeout: timeout, operation: "accounting")
            guard output.status == 0 else { throw Self.error(output, operation: "accounting", command: "sacct") }
            for state in try SacctParser.parse(output.stdoutText) { result[state.id] = state }
        }
        return result
    }

    public func accountingJobs(tagged tags: Set<UUID>, since: Date) async throws -> [UUID: SchedulerJobState] {
        guard !tags.isEmpty else { return [:] }
        let arguments = ["-X", "-P", "-n", "--starttime=\(Self.sacctTime(since.addingTimeInterval(-60)))", "--endtime=now",
                         "-o", SacctParser.fields.joined(separator: ",")]
        let output = try await runner.run("sacct", arguments, timeout: timeout, operation: "accounting")
        guard output.status == 0 else { throw Self.error(output, operation: "accounting", command: "sacct") }
        return SchedulerJobState.tagged(try SacctParser.parse(output.stdoutText), in: tags)
    }

    /// sacct reads `--starttime` in the local time zone, in this form.
    static func sacctTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: date)
    }

    /// A failed command as a scheduler error: unreachable controllers are transient, refusals are not.
    static func error(_ output: CommandRunner.Output, operation: String, command: String) -> SchedulerError {
        let message = output.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        let transientMarkers = ["Unable to contact slurm controller", "Socket timed out", "Connection refused",
                                "slurm_persist_conn_open", "Slurm backup controller in standby", "Zero Bytes were transmitted",
                                // EAGAIN (over MaxJobCount, or busy) after sbatch's own retries.
                                "Resource temporarily unavailable"]
        let kind: SchedulerError.Kind
        if transientMarkers.contains(where: message.contains) {
            kind = .unavailable
        } else if message.contains("accounting storage is disabled") {
            kind = .unavailable
        } else if message.contains("Invalid job id") {
            kind = .notFound
        } else {
            kind = .rejected
        }
        let words = kind == .rejected ? SlurmErrorCodes.explainRefusal(number: nil, message: message) ?? message : message
        return SchedulerError(kind, operation: operation, detail: "\(command) exited with \(output.status): \(words.isEmpty ? "(no message)" : words)")
    }
}
