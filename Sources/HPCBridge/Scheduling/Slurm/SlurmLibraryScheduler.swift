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
    /// The last answer's records and their states, so a record that did not change is not converted again.
    let conversions = RecordConversions()

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

    /// The same RPC on the caller's thread (a submission lane's, meant for blocking work). It has no
    /// deadline of its own: libslurm ends it at its MessageTimeout, and the lane's caller was answered
    /// at its own deadline long before.
    public var blockingSubmit: (@Sendable (BatchJobSpec) throws -> NativeJobID)? {
        { [inheritedEnvironment] job in
            try job.checkForSlurm()
            return try Self.submitNow(job, environment: inheritedEnvironment.merging(job.environment) { $1 })
        }
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
        var version = [CChar](repeating: 0, count: 64)
        var number: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let result = hb_slurm_controller_config(&value, &version, version.count, &number, &message, message.count)
        guard result == HB_OK else { throw Self.error(result, number, message, operation: "limits") }
        let versionText = String(decoding: version.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return SchedulerLimits(maxArrayTasks: Int(value), version: versionText.isEmpty ? nil : versionText)
    }

    public func states(changedSince: Date?) async throws -> SchedulerSnapshot {
        let conversions = self.conversions
        return try await blocking("states") { try Self.statesNow(changedSince: changedSince, conversions: conversions) }
    }

    static func statesNow(changedSince: Date?, conversions: RecordConversions? = nil) throws -> SchedulerSnapshot {
        var records: UnsafeMutablePointer<hb_job_record>?
        var count = 0
        var lastUpdate: Int64 = 0
        var number: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let since = Int64(changedSince?.timeIntervalSince1970 ?? 0)
        let result = hb_slurm_load_jobs(since, &records, &count, &lastUpdate, &number, &message, message.count)
        // The block is freed here unless `conversions` kept it (it then frees it with the next answer).
        var kept = false
        defer { if !kept { hb_slurm_free(records) } }
        if result == HB_NO_CHANGE { return SchedulerSnapshot(takenAt: changedSince ?? Date(), jobs: [:], unchanged: true) }
        guard result == HB_OK else { throw Self.error(result, number, message, operation: "states") }
        return SchedulerSnapshot(takenAt: Date(timeIntervalSince1970: TimeInterval(lastUpdate)),
                                 jobs: try Self.states(of: records, count: count, conversions: conversions, kept: &kept))
    }

    /// The records as job states by id. With `conversions`, only the records that differ from the
    /// previous answer's are converted, and the previous answer's states are updated with them: the
    /// conversion is a pure function of the record, and most records do not change between two
    /// cycles. Converting every record took a third as long as the controller query itself at 10,000
    /// jobs, on the reconciler's critical path.
    /// With `kept`, `conversions` takes the records' block (the shim's allocation) over and sets it;
    /// without, it keeps a copy.
    static func states(of records: UnsafeMutablePointer<hb_job_record>?, count: Int, conversions: RecordConversions? = nil,
                       kept: UnsafeMutablePointer<Bool>? = nil) throws -> [NativeJobID: SchedulerJobState] {
        guard let records, count > 0 else {
            conversions?.forget()
            return [:]
        }
        guard let conversions, let previous = conversions.previous else {
            let states = try convert(records, count: count, indices: Array(0..<count))
            var jobs = [NativeJobID: SchedulerJobState](minimumCapacity: count)
            for state in states { jobs[state.id] = state }
            conversions?.keep(RecordBlock(records, count: count, taking: kept), ids: states.map(\.id), jobs: jobs, positions: nil)
            return jobs
        }
        let (changed, positions, gone) = previous.changes(in: records, count: count)
        var jobs = previous.jobs
        for position in gone { jobs[previous.ids[position]] = nil }
        let states = try convert(records, count: count, indices: changed)
        var ids = [NativeJobID](repeating: "", count: count)
        for index in 0..<count where positions[index] >= 0 { ids[index] = previous.ids[positions[index]] }
        // The same job number may now stand for another id (an array's pending record): every old id is
        // dropped before any new one is set, so no order of the records can drop a state just set.
        for (index, state) in zip(changed, states) where positions[index] >= 0 && ids[index] != state.id { jobs[ids[index]] = nil }
        for (index, state) in zip(changed, states) {
            ids[index] = state.id
            jobs[state.id] = state
        }
        // Every record where it was: the positions by job number are the same.
        let samePositions = count == previous.block.count && positions.enumerated().allSatisfy { $0.offset == $0.element }
        conversions.keep(RecordBlock(records, count: count, taking: kept), ids: ids, jobs: jobs, positions: samePositions ? previous.positions : nil)
        return jobs
    }

    /// These records converted, in the order of `indices`; on two threads when there are many.
    static func convert(_ records: UnsafeMutablePointer<hb_job_record>, count: Int, indices: [Int]) throws -> [SchedulerJobState] {
        guard !indices.isEmpty else { return [] }
        let parts = indices.count >= 2_000 ? 2 : 1
        var converted = [SchedulerJobState?](repeating: nil, count: indices.count)
        let failures = Mutex<[any Error]>([])
        converted.withUnsafeMutableBufferPointer { buffer in
            let memory = ConversionMemory(records: records, output: buffer)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                do {
                    for slot in (indices.count * part / parts)..<(indices.count * (part + 1) / parts) {
                        memory.output[slot] = try Self.state(memory.records[indices[slot]])
                    }
                } catch {
                    failures.withLock { $0.append(error) }
                }
            }
        }
        if let failure = failures.withLock({ $0.first }) { throw failure }
        return converted.map { $0! }
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
        guard let status = SlurmStateMap.status(base: base, flags: flags, reason: reason, exit: exit,
                                                  dependency: record.dependency.map { String(cString: $0) }) else {
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

/// One answer's records (the shim's block itself, freed with the next answer) and the states converted
/// from them, kept for the next answer: a record that is byte for byte the same (the shim zeroes every
/// record before filling it, padding included) converts to the same state. Records that list an
/// array's pending tasks point at text in their own block, and are always converted (there are few).
/// About 400 bytes per job (4 MB at 10,000 jobs) and the states.
final class RecordConversions: Sendable {
    struct Answer: Sendable {
        let block: RecordBlock
        /// The id each record converted to, by position.
        let ids: [NativeJobID]
        let positions: [UInt32: Int]
        let jobs: [NativeJobID: SchedulerJobState]

        /// Where each new record was in this answer (-1 when new), the new records that must be
        /// converted (new or changed), and the positions of this answer's records that are gone.
        func changes(in new: UnsafeMutablePointer<hb_job_record>, count: Int) -> (changed: [Int], positions: [Int], gone: [Int]) {
            var changed: [Int] = []
            var positions = [Int](repeating: -1, count: count)
            var seen = [Bool](repeating: false, count: block.count)
            let size = MemoryLayout<hb_job_record>.size, kept = block.records
            for index in 0..<count {
                let record = new + index
                // Slurm lists jobs in a stable order: the same position is tried before the index.
                let position = index < block.count && kept[index].job_id == record.pointee.job_id ? index : self.positions[record.pointee.job_id] ?? -1
                positions[index] = position
                guard position >= 0 else {
                    changed.append(index)
                    continue
                }
                seen[position] = true
                if record.pointee.array_task_str != nil || memcmp(record, kept + position, size) != 0 { changed.append(index) }
            }
            return (changed, positions, seen.indices.filter { !seen[$0] })
        }
    }

    private let kept = Mutex<Answer?>(nil)

    var previous: Answer? { kept.withLock { $0 } }

    /// Keeps an answer; `positions` when they are those of the previous answer, else they are indexed.
    func keep(_ block: RecordBlock, ids: [NativeJobID], jobs: [NativeJobID: SchedulerJobState], positions: [UInt32: Int]?) {
        var indexed = positions ?? [:]
        if positions == nil {
            indexed.reserveCapacity(block.count)
            for index in 0..<block.count { indexed[block.records[index].job_id] = index }
        }
        let answer = Answer(block: block, ids: ids, positions: indexed, jobs: jobs)
        kept.withLock { $0 = answer }
    }

    func forget() { kept.withLock { $0 = nil } }
}

/// The shim's block of one answer's records, freed when the last holder lets go. Unchecked: it is
/// only read once made.
final class RecordBlock: @unchecked Sendable {
    let records: UnsafeMutablePointer<hb_job_record>
    let count: Int

    /// Takes the shim's block over (and sets `taking`), or without `taking` keeps a copy of the records
    /// (their task-list pointers cleared: such records are never reused anyway).
    init(_ records: UnsafeMutablePointer<hb_job_record>, count: Int, taking: UnsafeMutablePointer<Bool>?) {
        if let taking {
            self.records = records
            taking.pointee = true
        } else {
            self.records = (malloc(max(1, count) * MemoryLayout<hb_job_record>.stride)!).bindMemory(to: hb_job_record.self, capacity: count)
            self.records.initialize(from: records, count: count)
            for index in 0..<count { self.records[index].array_task_str = nil }
        }
        self.count = count
    }

    /// The shim's blocks are one malloc each (hb_slurm_free is free), as are copies.
    deinit { hb_slurm_free(records) }
}
