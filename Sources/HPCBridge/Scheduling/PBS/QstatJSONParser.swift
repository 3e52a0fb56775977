import Foundation

/// Parses `qstat -f -F json -x` (OpenPBS 19+): `{"timestamp", "pbs_version", "pbs_server", "Jobs": {id: {...}}}`.
///
/// Times are ctime strings (`Thu Jun 19 21:27:51 2025`) on some sites and epoch seconds on others;
/// both are read. The hpcbridge job id travels in `Variable_List` as `HPCBRIDGE_JOB_ID`.
///
/// Arrays (`qstat -t`, OpenPBS's job attributes): the array `123[].server` has `array` True,
/// `array_indices_remaining` (the indices still queued, `5-99` or `-` when none) and `max_run_subjobs`;
/// each subjob `123[4].server` has `array_id` and `array_index`. A job PBS deleted because its afterok
/// dependency failed ends `F` without an exit status, like a job deleted by hand; PBS says why only in
/// its logs, so it is told apart here by its `depend` list naming a job of the same answer that failed.
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
        var states = try jobs.keys.sorted().map { id in try state(id: id, job: jobs[id]!) }
        let failed = Set(states.filter { if case .failed = $0.status { true } else { false } }.map(\.id))
        for i in states.indices where states[i].status == .failed(.cancelled) && states[i].exit == nil {
            if afterOKParents(jobs[states[i].id.rawValue]?["depend"]?.stringValue).contains(where: failed.contains) {
                states[i].status = .failed(.dependencyNeverSatisfied)
            }
        }
        return states
    }

    /// The jobs an afterok dependency names (`afterok:101.server@host:102.server@host,afterany:...`),
    /// without the `@host` PBS appends.
    static func afterOKParents(_ depend: String?) -> [NativeJobID] {
        guard let depend else { return [] }
        return depend.split(separator: ",").flatMap { part -> [NativeJobID] in
            let items = part.split(separator: ":")
            guard items.first == "afterok" else { return [] }
            return items.dropFirst().map { NativeJobID(String($0.split(separator: "@").first ?? $0)) }
        }
    }

    /// The array facts of the array itself or of one subjob; nil for a plain job.
    static func arrayMembership(id: String, job: JSONValue) throws -> ArrayMembership? {
        if let arrayID = job["array_id"]?.stringValue {
            guard let index = integer(job["array_index"]) else {
                throw SchedulerError(.malformedOutput, operation: "states", detail: "subjob \(id) of \(arrayID) has no array_index")
            }
            return ArrayMembership(arrayJobID: NativeJobID(arrayID), taskIndex: index)
        }
        let isArray = job["array"] == .bool(true) || job["array"]?.stringValue?.lowercased() == "true"
        guard isArray else { return nil }
        var membership = ArrayMembership(arrayJobID: NativeJobID(id))
        let remaining = job["array_indices_remaining"]?.stringValue ?? "-"
        if remaining != "-", !remaining.isEmpty {
            do {
                let queued = try JobArray(parsing: remaining.filter { $0 != " " })
                membership.pendingTasks = try JobArray(indices: queued.indices, maxRunning: integer(job["max_run_subjobs"]))
            } catch let error as JobArray.Invalid {
                throw SchedulerError(.malformedOutput, operation: "states", detail: "array \(id) lists its queued subjobs as \(JSONValue.quote(remaining)), which hpcbridge cannot read (\(error))")
            }
        }
        return membership
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
            restartCount: max(0, (integer(job["run_count"]) ?? 1) - 1), array: try arrayMembership(id: id, job: job))
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
