import Foundation

/// Parses `sacct -X -P -n -o <fields>` with `SLURM_TIME_FORMAT=%s`: final states from accounting.
///
/// The parsable form, not `sacct --json`: in Slurm 22.05 the JSON output reports `return_code: 0` for
/// a job that ended with `exit 3` (captured in Fixtures/slurm/sacct-finished.json), while `ExitCode`
/// here is right (`3:0`).
///
/// Array tasks (22.05 has no `--array` option): JobID is `ARRAY_TASK` (`4_3`) and JobIDRaw the task's
/// own job id (`12`); the record of tasks that never started is `ARRAY_[INDICES]` (`2_[0-200:2%3]`, in
/// full with SLURM_BITSTR_LEN=0) with JobIDRaw the array's id. Tasks get the id `ARRAY_TASK`, as in
/// squeue and libslurm, so the three sources agree; `sacct -j ARRAY` lists every task.
public enum SacctParser {
    /// The fields asked for, in this order.
    public static let fields = ["JobIDRaw", "JobID", "JobName", "State", "ExitCode", "Reason", "Comment", "Submit", "Start", "End"]

    public static func parse(_ text: String) throws -> [SchedulerJobState] {
        var states: [SchedulerJobState] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            let columns = line.split(separator: "|", omittingEmptySubsequences: false)
            // A comment may itself contain "|": everything between Reason and the last three is the comment.
            guard columns.count >= fields.count else {
                throw SchedulerError(.malformedOutput, operation: "accounting", detail: "sacct printed a line with \(columns.count) fields, expected \(fields.count): \(line)")
            }
            let (id, array) = try arrayFields(raw: columns[0], jobID: columns[1])
            let stateText = String(columns[3])
            let exit = ProcessExit(slurmPair: columns[4])
            let reason = columns[5] == "None" ? nil : String(columns[5])
            let comment = columns[6..<(columns.count - 3)].joined(separator: "|")
            let (base, flags) = SlurmStateMap.names(ofCLIState: stateText)
            guard let status = SlurmStateMap.status(base: base, flags: flags, reason: reason, exit: exit) else {
                throw SchedulerError(.malformedOutput, operation: "accounting", detail: "job \(id) is in state \(stateText), which hpcbridge does not know")
            }
            func date(_ text: Substring) -> Date? { Int(text).flatMap { $0 > 0 ? Date(timeIntervalSince1970: TimeInterval($0)) : nil } }
            let n = columns.count
            states.append(SchedulerJobState(
                id: id, tag: SchedulerJobState.tag(from: comment), name: String(columns[2]), status: status, rawState: stateText,
                reason: reason, exit: exit, submitTime: date(columns[n - 3]), startTime: date(columns[n - 2]), endTime: date(columns[n - 1]),
                array: array))
        }
        return states
    }

    /// The record's id and array facts from JobIDRaw and JobID: `12` + `4_3` is task 3 of array 4, `2` +
    /// `2_[0-200:2%3]` the array's tasks that never started, `5` + `5` a plain job.
    static func arrayFields(raw: Substring, jobID: Substring) throws -> (NativeJobID, ArrayMembership?) {
        let parts = jobID.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, let arrayID = Int(parts[0]) else { return (NativeJobID(String(raw)), nil) }
        if parts[1].hasPrefix("["), parts[1].hasSuffix("]") {
            let id = NativeJobID(String(raw))
            let list = String(parts[1].dropFirst().dropLast())
            return (id, try SlurmArrayFields.membership(arrayJobID: arrayID, taskID: nil, taskList: list, maxTasks: 0, jobID: id, operation: "accounting"))
        }
        guard let task = Int(parts[1]) else { return (NativeJobID(String(raw)), nil) }
        return (NativeJobID(String(jobID)), ArrayMembership(arrayJobID: NativeJobID(String(arrayID)), taskIndex: task))
    }
}
