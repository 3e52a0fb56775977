import Foundation

/// How the reconciler follows a scatter step: one job array whose tasks Slurm splits off into records
/// of their own as they start (the array's own id ends on its last task). The step's job follows the
/// tasks folded from the same one snapshot (`SchedulerSnapshot.arrayTasks`), and each task is kept in
/// `runTask` with its own state, exit code and scheduler id.
extension Reconciler {
    /// What the scheduler's records of one array say: the task rows to write, and the array as one
    /// scheduler state for the step's job (nil when no task is reported). Tasks the scheduler no longer
    /// lists keep what the store knows of them.
    static func arrayProgress(job: Job, step: RunStep, tasks reported: [Int: SchedulerJobState], stored: [RunTask]) -> (updates: [RunTask], seen: SchedulerJobState?) {
        let count = step.taskCount ?? 0
        var updates: [RunTask] = []
        var all = reported
        for task in stored {
            if let seen = reported[task.index] {
                let update = Self.task(task, seen: seen)
                if update != task { updates.append(update) }
            } else if task.state.isTerminal {
                all[task.index] = Self.state(of: task)
            }
        }
        guard let status = Run.stepStatus(ofTasks: all, count: count), !reported.isEmpty else { return (updates, nil) }
        let values = (0..<count).compactMap { all[$0] }
        // The first failed task by index: the one the step's failure names.
        let failingIndex = (0..<count).first { all[$0].map { $0.status.isTerminal && $0.status != .completed } ?? false }
        let failing = failingIndex.flatMap { all[$0] }
        let done = values.filter(\.status.isTerminal).count
        let seen = SchedulerJobState(
            id: NativeJobID(job.nativeJobID ?? ""), status: status,
            rawState: "ARRAY \(done)/\(count) tasks ended",
            reason: failingIndex.flatMap { index in failing.map { "task \(index) \($0.rawState)\($0.reason.map { " (\($0))" } ?? "")" } },
            exit: failing?.exit, startTime: values.compactMap(\.startTime).min(),
            endTime: status.isTerminal ? values.compactMap(\.endTime).max() : nil, restartCount: job.requeueCount)
        return (updates, seen)
    }

    /// A stored task brought to what the scheduler reports of it (an ended task stays as it ended).
    static func task(_ task: RunTask, seen: SchedulerJobState) -> RunTask {
        guard !task.state.isTerminal else { return task }
        var updated = task
        let (state, failure) = JobState.from(seen.status)
        updated.state = state
        updated.failureKind = failure?.label
        updated.exitCode = state.isTerminal ? seen.exit?.code : nil
        if seen.array?.taskIndex != nil { updated.nativeJobID = seen.id.rawValue }
        updated.startedAt = seen.status.hasStarted ? (seen.startTime ?? task.startedAt) : task.startedAt
        updated.finishedAt = state.isTerminal ? (seen.endTime ?? task.finishedAt) : nil
        return updated
    }

    /// A stored, ended task as a scheduler state, for the step's aggregate.
    static func state(of task: RunTask) -> SchedulerJobState {
        let status: SchedulerStatus
        switch task.state {
        case .completed: status = .completed
        case .cancelled: status = .failed(.cancelled)
        case .failed where task.failureKind == FailureKind.dependencyNeverSatisfied.label: status = .failed(.dependencyNeverSatisfied)
        case .failed: status = .failed(task.exitCode.map { .nonZeroExit(code: $0) } ?? .launchFailure)
        default: status = .failed(.launchFailure)
        }
        return SchedulerJobState(id: NativeJobID(task.nativeJobID ?? ""), status: status, rawState: task.state.rawValue.uppercased(),
                                 exit: task.exitCode.map { ProcessExit(code: $0) }, startTime: task.startedAt, endTime: task.finishedAt, restartCount: 0)
    }

    /// An array task's exit-code file.
    static func exitPath(of task: RunTask, in step: RunStep) -> String { "\(step.directory)/tasks/\(task.index).exit_code" }

    /// An array the controller no longer lists at all (every task ended and was purged): each task not
    /// yet ended in the store is resolved from accounting (`ARRAY_TASK` records) or from its own
    /// exit-code file, as a vanished job is. `resolver` is this reconciler's with the tasks' exit-code
    /// files read ahead off the cooperative pool (`VanishedJobResolver.readingAhead`).
    func resolveVanishedArray(job: Job, step: RunStep, stored: [RunTask], accounting: [SchedulerJobState], accountingError: String?, now: Date,
                              resolver: VanishedJobResolver) throws -> (updates: [RunTask], seen: SchedulerJobState?, pending: Bool) {
        let native = NativeJobID(job.nativeJobID ?? "")
        let fromAccounting = SchedulerSnapshot.arrayTasks(of: native, in: accounting)
        var resolved: [Int: SchedulerJobState] = [:]
        var pending = false
        for task in stored where !task.state.isTerminal {
            let exitPath = Self.exitPath(of: task, in: step)
            switch resolver.resolve(accounting: fromAccounting[task.index], accountingError: accountingError, exitCodePath: exitPath,
                                    vanishedAt: job.vanishedAt ?? now, now: now) {
            case .resolved(let status, let exit, let source):
                let record = fromAccounting[task.index]
                resolved[task.index] = SchedulerJobState(
                    id: record?.id ?? native, status: status, rawState: source, reason: "resolved from \(source)", exit: exit,
                    startTime: record?.startTime ?? task.startedAt, endTime: record?.endTime ?? now, restartCount: 0,
                    array: ArrayMembership(arrayJobID: native, taskIndex: task.index))
            case .pending:
                pending = true
            case .lost(let reason):
                resolved[task.index] = SchedulerJobState(id: native, status: .failed(.launchFailure), rawState: "LOST", reason: reason,
                                                         endTime: now, restartCount: 0)
            }
        }
        if pending { return ([], nil, true) }
        let (updates, seen) = Self.arrayProgress(job: job, step: step, tasks: resolved.isEmpty ? Dictionary(uniqueKeysWithValues: stored.map { ($0.index, Self.state(of: $0)) }) : resolved, stored: stored)
        return (updates, seen, false)
    }
}
