/// Slurm's array fields (`array_job_id`, `array_task_id`, `array_task_str`, `array_max_tasks`) as an
/// `ArrayMembership`: one reading for libslurm, `squeue --json` and `sacct`, which report the same
/// fields under different names.
enum SlurmArrayFields {
    /// - Parameters:
    ///   - arrayJobID: the array's id (`array_job_id`, nonzero).
    ///   - taskID: the task this record is; nil for the record of the pending tasks.
    ///   - taskList: that record's pending indices (`2-5%2`; from slurmdbd possibly a hex bitmap `0x3C`).
    ///   - maxTasks: the throttle (`array_max_tasks`), 0 when none; used when the list carries no `%N`.
    ///   - jobID, operation: the record's id and the call (`states`, `accounting`), for the error message.
    static func membership(arrayJobID: Int, taskID: Int?, taskList: String?, maxTasks: Int, jobID: NativeJobID,
                           operation: String = "states") throws -> ArrayMembership {
        var membership = ArrayMembership(arrayJobID: NativeJobID(String(arrayJobID)), taskIndex: taskID)
        guard taskID == nil, let taskList, !taskList.isEmpty else { return membership }
        do {
            var pending = taskList.hasPrefix("0x") ? try hexMask(taskList) : try JobArray(parsing: taskList)
            if pending.maxRunning == nil, maxTasks > 0 { pending = try JobArray(indices: pending.indices, maxRunning: maxTasks) }
            membership.pendingTasks = pending
        } catch let error as JobArray.Invalid {
            let cut = taskList.hasSuffix("...") ? "; it was cut short: SLURM_BITSTR_LEN must be 0 for the Slurm commands and libslurm" : ""
            throw SchedulerError(.malformedOutput, operation: operation, detail: "job \(jobID) lists its pending array tasks as \(JSONValue.quote(taskList)), which hpcbridge cannot read (\(error))\(cut)")
        }
        return membership
    }

    /// Slurm's hex bitmap (`bit_fmt_hexmask`: `0x` then hex digits, the last digit holding indices 0-3,
    /// its lowest bit index 0), the form slurmdbd stores a pending array's tasks in.
    static func hexMask(_ text: String) throws -> JobArray {
        var indices: [Int] = []
        for (position, character) in text.dropFirst(2).reversed().enumerated() {
            guard let nibble = character.hexDigitValue else { throw JobArray.Invalid(description: "\(JSONValue.quote(text)) is not a hex bitmap") }
            for bit in 0..<4 where nibble & (1 << bit) != 0 { indices.append(position * 4 + bit) }
        }
        return try JobArray(taskIndices: indices)
    }
}
