import Foundation

extension SchedulerSnapshot {
    /// Each task of one array as this snapshot sees it, by index (see `arrayTasks(of:in:)`).
    public func arrayTasks(of arrayJobID: NativeJobID) -> [Int: SchedulerJobState] {
        Self.arrayTasks(of: arrayJobID, in: jobs.values)
    }

    /// Folds the records of one array (those whose `array.arrayJobID` is `arrayJobID`) into one state
    /// per task index, from one `states()` call (or one accounting answer):
    ///
    /// - a task with a record of its own (split off, or the meta record that became the last task) has
    ///   that record: its own id, state and exit code;
    /// - a task still in the record of pending tasks has that record (its id is the record's), and is
    ///   queued even when the record is not: a PBS array that has begun is `B`, its queued subjobs are not
    ///   running. A pending record that ended (an array cancelled before it started) ends its tasks too.
    ///
    /// Tasks the scheduler no longer lists (purged after MinJobAge) are absent: compare with the
    /// submitted `JobArray` and ask accounting for those.
    public static func arrayTasks(of arrayJobID: NativeJobID, in records: some Sequence<SchedulerJobState>) -> [Int: SchedulerJobState] {
        var tasks: [Int: SchedulerJobState] = [:]
        var pending: [SchedulerJobState] = []
        for record in records {
            guard let membership = record.array, membership.arrayJobID == arrayJobID else { continue }
            guard let index = membership.taskIndex else {
                pending.append(record)
                continue
            }
            // A task listed twice (a requeued task in accounting) keeps its latest run.
            if let other = tasks[index], (other.restartCount, other.submitTime ?? .distantPast) > (record.restartCount, record.submitTime ?? .distantPast) { continue }
            tasks[index] = record
        }
        for record in pending {
            guard let indices = record.array?.pendingTasks else { continue }
            var waiting = record
            if record.status.hasStarted, !record.status.isTerminal { waiting.status = .queued(reason: record.reason) }
            for index in indices.taskIndices where tasks[index] == nil {
                tasks[index] = waiting
            }
        }
        return tasks
    }
}
