import Foundation
@testable import HPCBridge

/// An in-memory scheduler for reconciler tests: jobs live in a dictionary, tests play the controller
/// (start, finish, requeue, forget a job, go down), and every call is counted.
actor FakeScheduler: BatchScheduler {
    nonisolated let path = "fake"
    private(set) var jobs: [NativeJobID: SchedulerJobState] = [:]
    private(set) var accounting: [NativeJobID: SchedulerJobState] = [:]
    private(set) var submitCount = 0
    /// The spec of every submission, by the id it was given.
    private(set) var specs: [NativeJobID: BatchJobSpec] = [:]
    /// Every id `cancel` was called with, in order.
    private(set) var cancelled: [NativeJobID] = []
    /// How many cancel calls were made (each may name many jobs).
    private(set) var cancelCalls = 0
    /// What `limits()` reports as MaxArraySize.
    var maxArrayTasks: Int? = 1001
    private(set) var statesCount = 0
    private var nextID = 1000
    var down = false
    var accountingEnabled = true
    /// Like libslurm: a query naming the previous answer's time gets "no change" while nothing changed.
    private(set) var incremental = false
    /// Bumped by every change to the controller's jobs; answers carry it as their time.
    private var version = 0

    func setDown(_ value: Bool) { down = value }
    func setMaxArrayTasks(_ value: Int?) { maxArrayTasks = value }
    func setIncremental(_ value: Bool) { incremental = value }
    func setAccounting(_ value: Bool) { accountingEnabled = value }

    /// Submissions wait here while `holdSubmissions` is set (a controller that accepts and does not answer).
    private var heldSubmissions: [CheckedContinuation<Void, Never>] = []
    private(set) var holdSubmissions = false
    var submissionsWaiting: Int { heldSubmissions.count }

    /// Snapshot queries wait here while held (a controller that does not answer the reconciler).
    private var heldQueries: [CheckedContinuation<Void, Never>] = []
    var queriesWaiting: Int { heldQueries.count }

    func setHoldQueries(_ hold: Bool) {
        holdQueries = hold
        if !hold {
            heldQueries.forEach { $0.resume() }
            heldQueries = []
        }
    }
    private(set) var holdQueries = false

    func setHoldSubmissions(_ hold: Bool) {
        holdSubmissions = hold
        if !hold {
            heldSubmissions.forEach { $0.resume() }
            heldSubmissions = []
        }
    }

    func submit(_ job: BatchJobSpec) async throws -> NativeJobID {
        if holdSubmissions { await withCheckedContinuation { heldSubmissions.append($0) } }
        if down { throw SchedulerError(.unavailable, operation: "submit", detail: "controller down") }
        submitCount += 1
        version += 1
        nextID += 1
        let id = NativeJobID(String(nextID))
        specs[id] = job
        jobs[id] = SchedulerJobState(id: id, tag: SchedulerJobState.tag(from: job.comment), name: job.name,
                                     status: job.hold ? .held(reason: "JobHeldUser") : .queued(reason: "Priority"), rawState: "PENDING",
                                     array: job.array.map { ArrayMembership(arrayJobID: id, pendingTasks: $0) })
        return id
    }

    /// Puts an array into the controller as Slurm lists it: a record per started task (`ID_N`, each with
    /// the array's tag) and, unless `pending` is nil, the meta record `ID` of the tasks not yet started.
    func injectArray(tag: UUID, running: [Int], pending: JobArray?) -> NativeJobID {
        version += 1
        nextID += 1
        let id = NativeJobID(String(nextID))
        for index in running {
            let task = NativeJobID("\(id)_\(index)")
            jobs[task] = SchedulerJobState(id: task, tag: tag, status: .running, rawState: "RUNNING",
                                           array: ArrayMembership(arrayJobID: id, taskIndex: index))
        }
        if let pending {
            jobs[id] = SchedulerJobState(id: id, tag: tag, status: .queued(reason: "JobArrayTaskLimit"), rawState: "PENDING",
                                         array: ArrayMembership(arrayJobID: id, pendingTasks: pending))
        }
        return id
    }

    /// Puts a job into the controller as if someone had submitted it (crash-recovery tests).
    func inject(tag: UUID, status: SchedulerStatus) -> NativeJobID {
        version += 1
        nextID += 1
        let id = NativeJobID(String(nextID))
        jobs[id] = SchedulerJobState(id: id, tag: tag, status: status, rawState: "X")
        return id
    }

    func cancel(_ ids: [NativeJobID]) async throws {
        if down { throw SchedulerError(.unavailable, operation: "cancel", detail: "controller down") }
        cancelCalls += 1
        for id in ids {
            cancelled.append(id)
            end(id, .failed(.cancelled))
        }
    }

    /// Ends a job as Slurm does: an array's id ends every task not yet ended, and a job that depends on
    /// it with KILL_INV_DEP is cancelled in turn (DependencyNeverSatisfied), down the chain.
    private func end(_ id: NativeJobID, _ status: SchedulerStatus) {
        let records = jobs.values.filter { $0.id == id || $0.array?.arrayJobID == id }.map(\.id)
        for record in records where !(jobs[record]?.status.isTerminal ?? true) { set(record, status) }
        for (dependent, spec) in specs where spec.killOnInvalidDependency && spec.afterOK.contains(id) && !(jobs[dependent]?.status.isTerminal ?? true) {
            end(dependent, .failed(.dependencyNeverSatisfied))
        }
    }

    func limits() async throws -> SchedulerLimits {
        if down { throw SchedulerError(.unavailable, operation: "limits", detail: "controller down") }
        return SchedulerLimits(maxArrayTasks: maxArrayTasks)
    }

    func set(_ id: NativeJobID, _ status: SchedulerStatus, exit: ProcessExit? = nil, restarts: Int? = nil) {
        guard var job = jobs[id] else { return }
        version += 1
        job.status = status
        job.rawState = "\(status)"
        job.exit = exit ?? (status == .completed ? .success : job.exit)
        // One clock reading: a job that ends straight from the queue gets start == end, as Slurm does.
        let now = Date()
        if status.hasStarted, job.startTime == nil { job.startTime = now }
        if status.isTerminal { job.endTime = now }
        if let restarts { job.restartCount = restarts }
        jobs[id] = job
    }

    /// Splits task `index` off a pending array as Slurm does when it starts: a record of its own (new
    /// id `ARRAY_INDEX` here), the meta record keeps the others.
    func startTask(_ array: NativeJobID, _ index: Int, _ status: SchedulerStatus = .running, exit: ProcessExit? = nil) {
        guard var meta = jobs[array], let pending = meta.array?.pendingTasks else { return }
        version += 1
        let task = NativeJobID("\(array)_\(index)")
        let now = Date()
        jobs[task] = SchedulerJobState(id: task, tag: meta.tag, name: meta.name, status: status, rawState: "\(status)",
                                       exit: exit ?? (status == .completed ? .success : nil), startTime: now, endTime: status.isTerminal ? now : nil,
                                       restartCount: 0, array: ArrayMembership(arrayJobID: array, taskIndex: index))
        let rest = pending.taskIndices.filter { $0 != index }
        if rest.isEmpty {
            jobs[array] = nil
        } else {
            meta.array?.pendingTasks = try? JobArray(taskIndices: rest, maxRunning: pending.maxRunning)
            jobs[array] = meta
        }
    }

    /// Accounting loses a record (slurmdbd down when the job ended).
    func forgetAccounting(_ id: NativeJobID) {
        accounting[id] = nil
    }

    /// The controller forgets the job (MinJobAge); accounting keeps its final state when enabled.
    func purge(_ id: NativeJobID) {
        version += 1
        if let job = jobs.removeValue(forKey: id), job.status.isTerminal { accounting[id] = job }
    }

    func states(changedSince: Date?) async throws -> SchedulerSnapshot {
        if holdQueries { await withCheckedContinuation { heldQueries.append($0) } }
        statesCount += 1
        if down { throw SchedulerError(.unavailable, operation: "states", detail: "controller down") }
        guard incremental else { return SchedulerSnapshot(takenAt: Date(), jobs: jobs) }
        let now = Date(timeIntervalSince1970: TimeInterval(version))
        if changedSince == now { return SchedulerSnapshot(takenAt: now, jobs: [:], unchanged: true) }
        return SchedulerSnapshot(takenAt: now, jobs: jobs)
    }

    func accountingJobs(tagged tags: Set<UUID>, since: Date) async throws -> [UUID: SchedulerJobState] {
        guard accountingEnabled else { throw SchedulerError(.unavailable, operation: "accounting", detail: "accounting storage is disabled") }
        return SchedulerJobState.tagged(accounting.values, in: tags)
    }

    /// A job that was submitted, finished and left the controller (a crash long ago).
    func injectFinished(tag: UUID, status: SchedulerStatus, exit: ProcessExit) -> NativeJobID {
        nextID += 1
        let id = NativeJobID(String(nextID))
        accounting[id] = SchedulerJobState(id: id, tag: tag, status: status, rawState: "X", exit: exit, endTime: Date())
        return id
    }

    func accountingStates(for ids: [NativeJobID], since: Date) async throws -> [NativeJobID: SchedulerJobState] {
        guard accountingEnabled else { throw SchedulerError(.unavailable, operation: "accounting", detail: "accounting storage is disabled") }
        // As `sacct -j ARRAY` does: an array's id answers with every task of it.
        return accounting.filter { ids.contains($0.key) || $0.value.array.map { ids.contains($0.arrayJobID) } == true }
    }
}
