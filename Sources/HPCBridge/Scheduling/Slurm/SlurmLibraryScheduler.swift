import CSlurmShim
import Foundation
import Synchronization

/// Slurm through libslurm (via `CSlurmShim`): no process per call, and an incremental job query that
/// costs the controller almost nothing when nothing changed (`SLURM_NO_CHANGE_IN_DATA`).
///
/// libslurm calls block for the length of one RPC: milliseconds, or libslurm's MessageTimeout (10 s by
/// default, more with its retries) when the controller accepts connections but does not answer. They run
/// on `BlockingCallPool.scheduler`'s threads, never on the caller's, with a deadline.
public struct SlurmLibraryScheduler: BatchScheduler {
    public let path = "slurm-library"
    /// The cluster name used to scope accounting queries (`nil`: slurmdbd's default).
    public var cluster: String?
    /// Threads the calls run on.
    public var pool: BlockingCallPool = .scheduler
    /// The longest a caller waits for one call (the call itself ends when libslurm gives up).
    public var callDeadline: Duration = .seconds(60)
    /// The service's environment, which a job inherits as it would from sbatch (read once: building it
    /// from `environ` on every submit showed in the submission profile).
    let inheritedEnvironment: [String: String]

    /// Fails with the probe's reason when libslurm cannot be used here.
    public init(cluster: String? = nil) throws {
        let status = SlurmLibraryStatus.probe()
        guard status.usable else { throw SchedulerError(.unavailable, operation: "init", detail: status.reason) }
        self.cluster = cluster
        self.inheritedEnvironment = ProcessInfo.processInfo.environment
    }

    /// Runs a blocking libslurm call on the pool; a full pool or a passed deadline is a transient error.
    func blocking<T: Sendable>(_ operation: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await pool.run(deadline: callDeadline, body)
        } catch let full as BlockingCallPool.Saturated {
            throw SchedulerError(.unavailable, operation: operation, detail: full.description)
        } catch let late as BlockingCallPool.TimedOut {
            throw SchedulerError(.timeout, operation: operation, detail: "slurmctld did not answer within \(late.deadline)")
        } catch is CancellationError {
            throw SchedulerError(.timeout, operation: operation, detail: "the call was dropped before it started")
        }
    }

    public func submit(_ job: BatchJobSpec) async throws -> NativeJobID {
        try job.checkForSlurm()
        let environment = inheritedEnvironment.merging(job.environment) { $1 }
        return try await blocking("submit") { try Self.submitNow(job, environment: environment) }
    }

    static func submitNow(_ job: BatchJobSpec, environment: [String: String]) throws -> NativeJobID {
        let pairs = environment.keys.sorted().map { "\($0)=\(environment[$0]!)" }
        var id: UInt32 = 0
        var number: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let arrayIndices = job.array?.indexList, dependency = job.slurmDependency
        let result: Int32 = withCStrings(pairs) { environmentPointers in
            environmentPointers.withUnsafeBufferPointer { envp in
            withCStrings([job.script, job.name, job.account, job.partition ?? "", job.qos ?? "", job.workingDirectory,
                          job.stdoutPath, job.stderrPath, job.comment, arrayIndices ?? "", dependency ?? ""]) { s in
                var request = hb_submit_request(
                    script: s[0], name: s[1], account: s[2], partition: job.partition == nil ? nil : s[3], qos: job.qos == nil ? nil : s[4],
                    work_dir: s[5], std_out: s[6], std_err: s[7], comment: s[8], cpus: UInt32(job.resources.cpus),
                    memory_mb: UInt64(job.resources.memoryMB), time_minutes: UInt32((job.resources.timeLimitSeconds + 59) / 60),
                    gpus: UInt32(job.resources.gpus), hold: job.hold ? 1 : 0, environment: envp.baseAddress, environment_count: UInt32(pairs.count),
                    array_inx: arrayIndices == nil ? nil : s[9], dependency: dependency == nil ? nil : s[10],
                    kill_invalid_dep: job.killOnInvalidDependency ? 1 : 0)
                return hb_slurm_submit(&request, &id, &number, &message, message.count)
            }
            }
        }
        guard result == HB_OK else { throw Self.error(result, number, message, operation: "submit") }
        return NativeJobID(String(id))
    }

    /// One `slurm_kill_job2` RPC per job: 22.05 has no many-job kill (`slurm_kill_jobs` came in 23.02).
    /// The first failure ends the loop, so a controller that does not answer costs one timeout, not one each.
    public func cancel(_ ids: [NativeJobID]) async throws {
        try await blocking("cancel") { try Self.cancelNow(ids) }
    }

    static func cancelNow(_ ids: [NativeJobID]) throws {
        for id in ids {
            var number: Int32 = 0
            var message = [CChar](repeating: 0, count: 512)
            let result = hb_slurm_cancel(id.rawValue, &number, &message, message.count)
            guard result == HB_OK else { throw Self.error(result, number, message, operation: "cancel") }
        }
    }

    public func limits() async throws -> SchedulerLimits {
        try await blocking("limits") { try Self.limitsNow() }
    }

    static func limitsNow() throws -> SchedulerLimits {
        var value: UInt32 = 0
        var number: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let result = hb_slurm_max_array_size(&value, &number, &message, message.count)
        guard result == HB_OK else { throw Self.error(result, number, message, operation: "limits") }
        return SchedulerLimits(maxArrayTasks: Int(value))
    }

    public func states(changedSince: Date?) async throws -> SchedulerSnapshot {
        try await blocking("states") { try Self.statesNow(changedSince: changedSince) }
    }

    static func statesNow(changedSince: Date?) throws -> SchedulerSnapshot {
        var records: UnsafeMutablePointer<hb_job_record>?
        var count = 0
        var lastUpdate: Int64 = 0
        var number: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let since = Int64(changedSince?.timeIntervalSince1970 ?? 0)
        let result = hb_slurm_load_jobs(since, &records, &count, &lastUpdate, &number, &message, message.count)
        defer { hb_slurm_free(records) }
        if result == HB_NO_CHANGE { return SchedulerSnapshot(takenAt: changedSince ?? Date(), jobs: [:], unchanged: true) }
        guard result == HB_OK else { throw Self.error(result, number, message, operation: "states") }
        return SchedulerSnapshot(takenAt: Date(timeIntervalSince1970: TimeInterval(lastUpdate)),
                                 jobs: try Self.states(of: records, count: count))
    }

    /// The records as job states by id. Large answers are converted on two threads, each its half: at
    /// 10,000 jobs the conversion took two thirds as long as the controller query itself, and the
    /// caller waits for it on the reconciler's critical path.
    static func states(of records: UnsafeMutablePointer<hb_job_record>?, count: Int) throws -> [NativeJobID: SchedulerJobState] {
        guard let records, count > 0 else { return [:] }
        let parts = count >= 2_000 ? 2 : 1
        var converted = [SchedulerJobState?](repeating: nil, count: count)
        let failures = Mutex<[any Error]>([])
        converted.withUnsafeMutableBufferPointer { buffer in
            let memory = ConversionMemory(records: records, output: buffer)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                do {
                    for index in (count * part / parts)..<(count * (part + 1) / parts) {
                        memory.output[index] = try Self.state(memory.records[index])
                    }
                } catch {
                    failures.withLock { $0.append(error) }
                }
            }
        }
        if let failure = failures.withLock({ $0.first }) { throw failure }
        var jobs = [NativeJobID: SchedulerJobState](minimumCapacity: count)
        for case let state? in converted { jobs[state.id] = state }
        return jobs
    }

    public func accountingStates(for ids: [NativeJobID], since: Date) async throws -> [NativeJobID: SchedulerJobState] {
        let numbers = ids.compactMap { UInt32($0.rawValue.prefix { $0.isNumber }) }
        guard !numbers.isEmpty else { return [:] }
        let cluster = self.cluster
        let states = try await blocking("accounting") { try Self.accounting(numbers, since: since, cluster: cluster) }
        return Dictionary(states.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
    }

    public func accountingJobs(tagged tags: Set<UUID>, since: Date) async throws -> [UUID: SchedulerJobState] {
        guard !tags.isEmpty else { return [:] }
        let cluster = self.cluster
        return SchedulerJobState.tagged(try await blocking("accounting") { try Self.accounting([], since: since, cluster: cluster) }, in: tags)
    }

    /// Accounting records for job numbers, or for every job since `since` when `numbers` is empty.
    static func accounting(_ numbers: [UInt32], since: Date, cluster: String?) throws -> [SchedulerJobState] {
        var records: UnsafeMutablePointer<hb_job_record>?
        var count = 0
        var message = [CChar](repeating: 0, count: 512)
        let result = numbers.withUnsafeBufferPointer { buffer in
            hb_slurmdb_jobs(buffer.baseAddress, buffer.count, Int64(since.timeIntervalSince1970) - 60, cluster, &records, &count, &message, message.count)
        }
        defer { hb_slurm_free(records) }
        guard result == HB_OK else { throw Self.error(result, 0, message, operation: "accounting") }
        return try (0..<count).map { try Self.state(records![$0]) }
    }

    /// One shim record as a job state, through the same state map as the CLI path.
    static func state(_ record: hb_job_record) throws -> SchedulerJobState {
        let noValue: UInt32 = 0xfffffffe
        let task = record.array_job_id != 0 && record.array_task_id != noValue ? Int(record.array_task_id) : nil
        let id = task.map { NativeJobID("\(record.array_job_id)_\($0)") } ?? NativeJobID(String(record.job_id))
        let array = try record.array_job_id == 0 ? nil : SlurmArrayFields.membership(
            arrayJobID: Int(record.array_job_id), taskID: task, taskList: record.array_task_str.map { String(cString: $0) },
            maxTasks: Int(record.array_max_tasks), jobID: id)
        let (base, flags) = SlurmStateMap.names(of: record.job_state)
        let reason = text(record.reason)
        let exit = ProcessExit(waitStatus: Int(record.exit_code))
        guard let status = SlurmStateMap.status(base: base, flags: flags, reason: reason, exit: exit) else {
            throw SchedulerError(.malformedOutput, operation: "states", detail: "job \(id) is in state \(record.job_state), which hpcbridge does not know")
        }
        func date(_ epoch: Int64) -> Date? { epoch > 0 ? Date(timeIntervalSince1970: TimeInterval(epoch)) : nil }
        return SchedulerJobState(
            id: id, tag: SchedulerJobState.tag(from: text(record.comment)), name: text(record.name), status: status,
            rawState: ([base] + flags.sorted()).joined(separator: "+"), reason: reason == "None" ? nil : reason, exit: exit,
            submitTime: date(record.submit_time), startTime: status.hasStarted ? date(record.start_time) : nil,
            endTime: status.isTerminal ? date(record.end_time) : nil, restartCount: Int(record.restart_count), array: array)
    }

    static func text<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static func error(_ result: Int32, _ number: Int32, _ message: [CChar], operation: String) -> SchedulerError {
        let detail = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Controller unreachable, socket timeouts and communication errors are worth retrying.
        let kind: SchedulerError.Kind = SlurmErrorCodes.isUnanswered(number) ? .timeout
            : result == HB_UNAVAILABLE || SlurmErrorCodes.isTransient(number) ? .unavailable : .rejected
        return SchedulerError(kind, operation: operation, detail: kind == .rejected ? SlurmErrorCodes.explainRefusal(number: number, message: detail) ?? detail : detail)
    }
}

/// The shim's records and the states converted from them, shared by the threads of one conversion:
/// each thread reads and writes only its own range.
private struct ConversionMemory: @unchecked Sendable {
    let records: UnsafeMutablePointer<hb_job_record>
    let output: UnsafeMutableBufferPointer<SchedulerJobState?>
}

/// Calls `body` with the strings as a C array of NUL-terminated strings.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    return body(copies.map { UnsafePointer($0) })
}
