/// What a scheduler record says about the job array it belongs to.
///
/// Slurm keeps the tasks that have not started in ONE record (the meta record: job id = array id, the
/// pending indices in `array_task_str`); a task that starts is split off as a record of its own, with a
/// new job id, its own state and exit code. When one task is left, the meta record becomes that task, so
/// the array's id ends on the LAST task, not task 0. PBS lists the array (`123[].server`, the indices
/// still queued in `array_indices_remaining`) and, with `qstat -t`, every subjob (`123[4].server`).
public struct ArrayMembership: Sendable, Hashable {
    /// The array's id: Slurm's `array_job_id` (what submit returned), PBS's `123[].server`.
    public var arrayJobID: NativeJobID
    /// The task this record is; nil for the record that holds the tasks not yet started.
    public var taskIndex: Int?
    /// For the record of the tasks not yet started: those indices and the array's throttle.
    public var pendingTasks: JobArray?

    public init(arrayJobID: NativeJobID, taskIndex: Int? = nil, pendingTasks: JobArray? = nil) {
        self.arrayJobID = arrayJobID
        self.taskIndex = taskIndex
        self.pendingTasks = pendingTasks
    }
}
