/// PBS (OpenPBS / PBS Pro) job states and exit-status conventions onto hpcbridge's lifecycle.
public enum PBSStateMap {
    /// `job_state` letters. F and X are finished; the exit status then decides.
    static let stateTable: [String: SchedulerStatus?] = [
        "Q": .queued(reason: nil),
        "W": .queued(reason: "waiting for its start time"),
        "T": .queued(reason: "being moved to its execution queue"),
        "H": .held(reason: nil),
        "R": .running,
        "B": .running,          // an array job whose subjobs have begun
        "E": .running,          // exiting: the script ended, files are being staged out
        "S": .suspended,
        "U": .suspended,        // suspended because the workstation is busy
        "M": .failed(.cancelled),   // moved to another server: no longer this bridge's to follow
        "F": nil,
        "X": nil,
    ]

    /// The substate of a job PBS holds until its dependencies are met (JOB_SUBSTATE_DEPNHOLD in job.h).
    static let dependencyHoldSubstate = 22

    /// PBS-internal exit statuses (`JOB_EXEC_*` in job.h). Requeue codes return the job to the queue.
    static let execCodes: [Int: SchedulerStatus] = [
        -1: .failed(.launchFailure),    // JOB_EXEC_FAIL1: exec failed before files, no retry
        -2: .failed(.launchFailure),    // JOB_EXEC_FAIL2: exec failed after files, no retry
        -3: .queued(reason: "Requeued"), // JOB_EXEC_RETRY: launch failed, PBS retries
        -4: .failed(.launchFailure),    // JOB_EXEC_INITABT: aborted on MoM initialisation
        -5: .failed(.launchFailure),    // JOB_EXEC_INITRST: aborted on MoM init, checkpointed
        -6: .failed(.launchFailure),    // JOB_EXEC_INITRMG
        -7: .failed(.launchFailure),    // JOB_EXEC_BADRESRT: restart failed
        -10: .failed(.launchFailure),   // JOB_EXEC_FAILUID: invalid uid/gid
        -11: .queued(reason: "Requeued"), // JOB_EXEC_RERUN
        -12: .failed(.cancelled),       // JOB_EXEC_CHKP: checkpointed and killed
        -13: .failed(.launchFailure),   // JOB_EXEC_FAIL_PASSWORD
        -14: .queued(reason: "Requeued"), // JOB_EXEC_RERUN_ON_SIS_FAIL: a sister node failed
        -15: .queued(reason: "Requeued"), // JOB_EXEC_QUERST: requeue for restart
        -16: .queued(reason: "Requeued"), // JOB_EXEC_FAILHOOK_RERUN
        -17: .failed(.launchFailure),   // JOB_EXEC_FAILHOOK_DELETE
        -18: .queued(reason: "Requeued"), // JOB_EXEC_HOOK_RERUN
        -19: .failed(.launchFailure),   // JOB_EXEC_HOOK_DELETE
        -20: .failed(.nodeFailure),     // JOB_EXEC_RERUN_MS_FAIL: mother superior lost
        -21: .failed(.launchFailure),   // JOB_EXEC_FAIL_SECURITY
        -22: .failed(.launchFailure),   // JOB_EXEC_HOOKERROR
        -23: .failed(.launchFailure),   // JOB_EXEC_FAIL_KRB5
        -24: .failed(.outOfMemory),     // JOB_EXEC_KILL_NCPUS_BURST (over its cpus)
        -25: .failed(.outOfMemory),     // JOB_EXEC_KILL_NCPUS_SUM
        -26: .failed(.outOfMemory),     // JOB_EXEC_KILL_VMEM
        -27: .failed(.outOfMemory),     // JOB_EXEC_KILL_MEM
        -28: .failed(.timeout),         // JOB_EXEC_KILL_CPUT: cpu time limit
        -29: .failed(.timeout),         // JOB_EXEC_KILL_WALLTIME
    ]

    /// The lifecycle status for a `job_state` letter and, for finished jobs, `Exit_status`.
    /// `nil` when the state letter is unknown.
    public static func status(state: String, exitStatus: Int?, substate: Int? = nil, comment: String? = nil) -> SchedulerStatus? {
        guard let entry = stateTable[state] else { return nil }
        // Held by the server until its dependencies are met (JOB_SUBSTATE_DEPNHOLD): waiting, not held by anyone.
        if state == "H", substate == dependencyHoldSubstate { return .queued(reason: "Dependency") }
        if let fixed = entry {
            if case .held = fixed { return .held(reason: comment) }
            return fixed
        }
        guard let exitStatus else {
            // Finished without an exit status: deleted before it ran (substate 91 or a qdel).
            return .failed(.cancelled)
        }
        return finished(exitStatus: exitStatus)
    }

    /// The outcome of a finished job from its `Exit_status`.
    public static func finished(exitStatus: Int) -> SchedulerStatus {
        switch exitStatus {
        case 0: return .completed
        case let n where n < 0: return execCodes[n] ?? .failed(.launchFailure)
        case 256...: return signal(exitStatus - 256)
        case 129...255: return signal(exitStatus - 128)
        default: return .failed(.nonZeroExit(code: exitStatus))
        }
    }

    /// Signals PBS itself sends mean a kill by PBS: SIGTERM/SIGKILL after a qdel show as cancellation
    /// only through the exit status, so they stay signals here and the reconciler, which knows whether
    /// it asked for a cancel, decides.
    static func signal(_ n: Int) -> SchedulerStatus { .failed(.signal(n)) }

    /// The exit as a code or signal, by the same conventions.
    public static func exit(exitStatus: Int) -> ProcessExit? {
        switch exitStatus {
        case 256...: return ProcessExit(code: 0, signal: exitStatus - 256)
        case 129...255: return ProcessExit(code: 0, signal: exitStatus - 128)
        case 0...128: return ProcessExit(code: exitStatus)
        default: return nil
        }
    }
}
