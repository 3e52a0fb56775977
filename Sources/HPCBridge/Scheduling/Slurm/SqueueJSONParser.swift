import Foundation

/// Parses `squeue --json` (Slurm 22.05, openapi v0.0.38): every job the controller knows, in one call.
///
/// Only the fields hpcbridge uses are decoded. `exit_code` is a raw wait status here; `job_state` is the
/// base state, or a flag's name (`COMPLETING`) when one is set. Array records (checked on 22.05.8): a
/// plain job has `array_job_id` 0 and `array_task_id` null; the meta record of pending tasks has
/// `array_job_id` = `job_id`, `array_task_id` null and `array_task_string` `2-5%2`; a task has its own
/// `job_id` and its index in `array_task_id`.
public enum SqueueJSONParser {
    struct Document: Decodable {
        let jobs: [Job]
        let errors: [JSONValue]?
    }

    struct Job: Decodable {
        let job_id: Int
        let array_job_id: Int?
        let array_task_id: Int?
        let array_max_tasks: Int?
        /// The pending tasks of an array's meta record (`2-5%2`); in full only with SLURM_BITSTR_LEN=0.
        let array_task_string: String?
        let name: String?
        let job_state: String
        let state_reason: String?
        let exit_code: Int?
        let comment: String?
        let submit_time: Int?
        let start_time: Int?
        let end_time: Int?
        let restart_cnt: Int?
        /// Each parent with its state: `afterok:12(failed)`; empty when none.
        let dependency: String?
    }

    public static func parse(_ data: Data) throws -> [SchedulerJobState] {
        let document: Document
        do { document = try JSONDecoder().decode(Document.self, from: data) } catch {
            throw SchedulerError(.malformedOutput, operation: "states", detail: "squeue --json printed something hpcbridge cannot read: \(error)")
        }
        return try document.jobs.map(state(of:))
    }

    static func state(of job: Job) throws -> SchedulerJobState {
        let id: NativeJobID
        if let task = job.array_task_id, let parent = job.array_job_id, parent != 0 {
            id = NativeJobID("\(parent)_\(task)")
        } else {
            id = NativeJobID(String(job.job_id))
        }
        let array = try job.array_job_id.flatMap { $0 == 0 ? nil : $0 }.map {
            try SlurmArrayFields.membership(arrayJobID: $0, taskID: job.array_task_id, taskList: job.array_task_string,
                                            maxTasks: job.array_max_tasks ?? 0, jobID: id)
        }
        let exit = job.exit_code.map { ProcessExit(waitStatus: $0) }
        let (base, flags) = SlurmStateMap.names(ofCLIState: job.job_state)
        guard let status = SlurmStateMap.status(base: base, flags: flags, reason: job.state_reason, exit: exit, dependency: job.dependency) else {
            throw SchedulerError(.malformedOutput, operation: "states", detail: "job \(id) is in state \(job.job_state), which hpcbridge does not know")
        }
        // Pending jobs carry the expected start and end; only real ones are kept.
        func date(_ epoch: Int?) -> Date? { epoch.flatMap { $0 > 0 ? Date(timeIntervalSince1970: TimeInterval($0)) : nil } }
        return SchedulerJobState(
            id: id, tag: SchedulerJobState.tag(from: job.comment), name: job.name, status: status, rawState: job.job_state,
            reason: job.state_reason.flatMap { $0 == "None" ? nil : $0 }, exit: exit,
            submitTime: date(job.submit_time), startTime: status.hasStarted ? date(job.start_time) : nil,
            endTime: status.isTerminal ? date(job.end_time) : nil, restartCount: job.restart_cnt ?? 0, array: array)
    }
}
