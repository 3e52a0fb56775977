import Foundation

/// Parses `qstat -f -F json -x` (OpenPBS 19+): `{"timestamp", "pbs_version", "pbs_server", "Jobs": {id: {...}}}`.
///
/// Times are ctime strings (`Thu Jun 19 21:27:51 2025`) on some sites and epoch seconds on others;
/// both are read. The hpcbridge job id travels in `Variable_List` as `HPCBRIDGE_JOB_ID`.
public enum QstatJSONParser {
    public static func parse(_ data: Data) throws -> [SchedulerJobState] {
        let document: JSONValue
        do { document = try JSONValue.parse(data) } catch {
            throw SchedulerError(.malformedOutput, operation: "states", detail: "qstat -F json printed something hpcbridge cannot read: \(error)")
        }
        guard case .object = document else {
            throw SchedulerError(.malformedOutput, operation: "states", detail: "qstat -F json did not print an object")
        }
        let jobs = document["Jobs"]?.objectValue ?? [:]
        return try jobs.keys.sorted().map { id in try state(id: id, job: jobs[id]!) }
    }

    static func state(id: String, job: JSONValue) throws -> SchedulerJobState {
        let letter = job["job_state"]?.stringValue ?? ""
        let exitStatus = integer(job["Exit_status"])
        let comment = job["comment"]?.stringValue
        guard let status = PBSStateMap.status(state: letter, exitStatus: exitStatus, substate: integer(job["substate"]), comment: comment) else {
            throw SchedulerError(.malformedOutput, operation: "states", detail: "job \(id) is in state \(letter), which hpcbridge does not know")
        }
        let variables = variableList(job["Variable_List"])
        return SchedulerJobState(
            id: NativeJobID(id), tag: SchedulerJobState.tag(from: variables["HPCBRIDGE_JOB_ID"]), name: job["Job_Name"]?.stringValue,
            status: status, rawState: [letter, integer(job["substate"]).map(String.init)].compactMap { $0 }.joined(separator: "/"),
            reason: comment, exit: exitStatus.flatMap(PBSStateMap.exit(exitStatus:)),
            submitTime: time(job["qtime"] ?? job["ctime"]), startTime: time(job["stime"]),
            endTime: status.isTerminal ? time(job["obittime"] ?? job["mtime"]) : nil,
            restartCount: max(0, (integer(job["run_count"]) ?? 1) - 1))
    }

    /// Numbers arrive as numbers or as strings, depending on the PBS version.
    static func integer(_ value: JSONValue?) -> Int? {
        switch value {
        case .number(let n)?: return Int(n)
        case .string(let s)?: return Int(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    /// `Variable_List` is an object in the JSON form, or a `K=V,K=V` string in older versions.
    static func variableList(_ value: JSONValue?) -> [String: String] {
        switch value {
        case .object(let members)?: return members.compactMapValues { $0.stringValue ?? $0.numberValue.map { JSONValue.format(number: $0) } }
        case .string(let text)?:
            var result: [String: String] = [:]
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
            }
            return result
        default: return [:]
        }
    }

    /// Epoch seconds (as number or text) or a ctime string in UTC.
    static func time(_ value: JSONValue?) -> Date? {
        if let epoch = integer(value), epoch > 100_000 { return Date(timeIntervalSince1970: TimeInterval(epoch)) }
        guard let text = value?.stringValue else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE MMM d HH:mm:ss yyyy"
        return formatter.date(from: text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " "))
    }
}
