import Foundation

/// Parses `sacct -X -P -n -o <fields>` with `SLURM_TIME_FORMAT=%s`: final states from accounting.
///
/// The parsable form, not `sacct --json`: in Slurm 22.05 the JSON output reports `return_code: 0` for
/// a job that ended with `exit 3` (captured in Fixtures/slurm/sacct-finished.json), while `ExitCode`
/// here is right (`3:0`).
public enum SacctParser {
    /// The fields asked for, in this order.
    public static let fields = ["JobIDRaw", "JobName", "State", "ExitCode", "Reason", "Comment", "Submit", "Start", "End"]

    public static func parse(_ text: String) throws -> [SchedulerJobState] {
        var states: [SchedulerJobState] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            let columns = line.split(separator: "|", omittingEmptySubsequences: false)
            // A comment may itself contain "|": everything between Reason and the last three is the comment.
            guard columns.count >= fields.count else {
                throw SchedulerError(.malformedOutput, operation: "accounting", detail: "sacct printed a line with \(columns.count) fields, expected \(fields.count): \(line)")
            }
            let id = NativeJobID(String(columns[0]))
            let stateText = String(columns[2])
            let exit = ProcessExit(slurmPair: columns[3])
            let reason = columns[4] == "None" ? nil : String(columns[4])
            let comment = columns[5..<(columns.count - 3)].joined(separator: "|")
            let (base, flags) = SlurmStateMap.names(ofCLIState: stateText)
            guard let status = SlurmStateMap.status(base: base, flags: flags, reason: reason, exit: exit) else {
                throw SchedulerError(.malformedOutput, operation: "accounting", detail: "job \(id) is in state \(stateText), which hpcbridge does not know")
            }
            func date(_ text: Substring) -> Date? { Int(text).flatMap { $0 > 0 ? Date(timeIntervalSince1970: TimeInterval($0)) : nil } }
            let n = columns.count
            states.append(SchedulerJobState(
                id: id, tag: SchedulerJobState.tag(from: comment), name: String(columns[1]), status: status, rawState: stateText,
                reason: reason, exit: exit, submitTime: date(columns[n - 3]), startTime: date(columns[n - 2]), endTime: date(columns[n - 1])))
        }
        return states
    }
}
