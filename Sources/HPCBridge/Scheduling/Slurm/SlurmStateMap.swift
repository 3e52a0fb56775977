/// Slurm job states onto hpcbridge's lifecycle: a table for every base state and every flag of Slurm
/// 22.05 (`enum job_states` and the `JOB_*` flag bits of slurm.h), with the decisions in one function.
///
/// The CLI prints a flag's name instead of the base state when a flag is set (`COMPLETING`,
/// `REQUEUED`, `CONFIGURING`), and `squeue --json` prints only the base; the library gives both as bits.
/// All three reach `status(base:flags:reason:exit:)` as names.
public enum SlurmStateMap {
    /// Base states in `enum job_states` order (the value of `job_state & JOB_STATE_BASE`).
    public static let baseStates = [
        "PENDING", "RUNNING", "SUSPENDED", "COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL",
        "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY",
    ]

    /// State flag bits and the names the CLI prints for them.
    public static let flags: [(bit: UInt32, name: String)] = [
        (1 << 8, "LAUNCH_FAILED"), (1 << 9, "UPDATE_DB"), (1 << 10, "REQUEUED"), (1 << 11, "REQUEUE_HOLD"),
        (1 << 12, "SPECIAL_EXIT"), (1 << 13, "RESIZING"), (1 << 14, "CONFIGURING"), (1 << 15, "COMPLETING"),
        (1 << 16, "STOPPED"), (1 << 17, "RECONFIG_FAIL"), (1 << 18, "POWER_UP_NODE"), (1 << 19, "REVOKED"),
        (1 << 20, "REQUEUE_FED"), (1 << 21, "RESV_DEL_HOLD"), (1 << 22, "SIGNALING"), (1 << 23, "STAGE_OUT"),
    ]

    /// What a base state means on its own.
    enum BaseMeaning: Equatable {
        case queued, running, suspended, completed, failedByExit
        case failed(FailureKind)
    }

    static let baseTable: [String: BaseMeaning] = [
        "PENDING": .queued,
        "RUNNING": .running,
        "SUSPENDED": .suspended,
        "COMPLETED": .completed,
        "CANCELLED": .failed(.cancelled),
        "FAILED": .failedByExit,
        "TIMEOUT": .failed(.timeout),
        "NODE_FAIL": .failed(.nodeFailure),
        "PREEMPTED": .failed(.preempted),
        "BOOT_FAIL": .failed(.bootFailure),
        "DEADLINE": .failed(.deadline),
        "OUT_OF_MEMORY": .failed(.outOfMemory),
    ]

    /// What each flag does to the lifecycle. Flags not listed as changing it only annotate.
    enum FlagMeaning: Equatable {
        /// The job goes back to the queue (counted as a requeue, never as a failure).
        case requeue
        /// The job waits for someone to release it.
        case hold
        /// The job is starting (nodes booting or powering up): running as far as the user can tell.
        case starting
        /// Stopped with SIGSTOP while holding resources.
        case stopped
        /// Launch failed: the batch script never ran.
        case launchFailed
        /// Federation: the sibling here was revoked because another cluster runs the job.
        case revoked
        /// Bookkeeping, epilog, signal delivery, resizing, staging: the base state stands.
        case annotation
    }

    static let flagTable: [String: FlagMeaning] = [
        "LAUNCH_FAILED": .launchFailed, "UPDATE_DB": .annotation, "REQUEUED": .requeue, "REQUEUE_HOLD": .hold,
        "SPECIAL_EXIT": .hold, "RESIZING": .annotation, "CONFIGURING": .starting, "COMPLETING": .annotation,
        "STOPPED": .stopped, "RECONFIG_FAIL": .requeue, "POWER_UP_NODE": .starting, "REVOKED": .revoked,
        "REQUEUE_FED": .requeue, "RESV_DEL_HOLD": .hold, "SIGNALING": .annotation, "STAGE_OUT": .annotation,
    ]

    /// CANCELLED reasons that name who cancelled: Slurm itself, not a person. DependencyNeverSatisfied
    /// (WAIT_DEP_INVALID) is what a job with KILL_INV_DEP is cancelled with when an afterok parent failed,
    /// and what its own dependants get as the cancellation cascades. A user's scancel keeps the reason the
    /// job was waiting with (`Dependency`, `Priority`, ...); only a job already stuck with
    /// DependencyNeverSatisfied (no KILL_INV_DEP) and then cancelled by hand reads the same, and its
    /// dependency had failed then too. Accounting keeps no such reason: sacct shows `CANCELLED`, Reason
    /// `None` (checked live), so a child read only from accounting is `cancelled`.
    static let cancelReasons: [String: FailureKind] = ["DependencyNeverSatisfied": .dependencyNeverSatisfied]

    /// Whether the controller's dependency text says the job can never run: it marks each parent with
    /// its state, `afterok:12(failed)`, and drops the ones satisfied. The reason alone does not always
    /// tell: a dependant that Slurm cancelled has been seen (once, on a loaded machine) with the pending
    /// reason it had before, `Resources`, instead of DependencyNeverSatisfied, and read as a plain
    /// cancel. Parents joined with `?` (any one suffices) fail only when all of them failed; joined with
    /// `,` or `:` lists (all required), one failed parent is enough.
    static func dependencyFailed(_ text: String?) -> Bool {
        guard let text, text.contains("(failed)") else { return false }
        let alternatives = text.split(separator: "?")
        return alternatives.allSatisfy { $0.contains("(failed)") }
    }

    /// Pending reasons that mean "held until released" rather than "waiting for resources".
    static let holdReasons: Set<String> = ["JobHeldUser", "JobHeldAdmin", "BeginTime_Hold", "ReqNodeNotAvail_Hold"]

    /// Splits a numeric `job_state` (library path) into names.
    public static func names(of jobState: UInt32) -> (base: String, flags: Set<String>) {
        let base = Int(jobState & 0xff)
        let name = base < baseStates.count ? baseStates[base] : "UNKNOWN(\(base))"
        return (name, Set(flags.filter { jobState & $0.bit != 0 }.map(\.name)))
    }

    /// The CLI's state word: a base state, a flag name printed instead of it, `CANCELLED by 0`, ...
    public static func names(ofCLIState text: String) -> (base: String?, flags: Set<String>) {
        let word = String(text.split(separator: " ").first ?? "")
        if baseTable[word] != nil { return (word, []) }
        if flagTable[word] != nil { return (nil, [word]) }
        if word == "REQUEUE" { return (nil, ["REQUEUED"]) }
        return (nil, [])
    }

    /// The lifecycle status for a base state (when known), flags, the reason, the exit status and the
    /// controller's dependency text (read only for a cancelled job; accounting has none).
    /// Returns `nil` for a state this table does not know, so the caller can report it instead of guessing.
    public static func status(base: String?, flags: Set<String>, reason: String?, exit: ProcessExit?,
                              dependency: @autoclosure () -> String? = nil) -> SchedulerStatus? {
        let reason = reason.flatMap { $0 == "None" || $0.isEmpty ? nil : $0 }
        let meanings = Set(flags.compactMap { flagTable[$0] })
        // Flags that decide the lifecycle whatever the base state says.
        if meanings.contains(.revoked) { return .failed(.cancelled) }
        if meanings.contains(.hold) { return .held(reason: reason ?? flags.sorted().first) }
        if meanings.contains(.requeue) { return .queued(reason: reason ?? "Requeued") }
        guard let base else {
            // The CLI printed only a flag.
            if meanings.contains(.starting) { return .running }
            if meanings.contains(.stopped) { return .suspended }
            if meanings.contains(.annotation) { return .running }  // COMPLETING etc.: ends next cycle
            return nil
        }
        guard let meaning = baseTable[base] else { return nil }
        switch meaning {
        case .queued:
            if let reason, holdReasons.contains(reason) { return .held(reason: reason) }
            return meanings.contains(.starting) ? .running : .queued(reason: reason)
        case .running:
            return meanings.contains(.stopped) ? .suspended : .running
        case .suspended:
            return .suspended
        case .completed:
            // COMPLETED means exit 0; a nonzero code here would be a Slurm inconsistency worth keeping.
            if let exit, exit.code != 0 || exit.signal != 0 { return .failed(failure(exit: exit, reason: reason, launchFailed: false)) }
            return .completed
        case .failedByExit:
            return .failed(failure(exit: exit, reason: reason, launchFailed: meanings.contains(.launchFailed)))
        case .failed(.cancelled):
            if let kind = reason.flatMap({ cancelReasons[$0] }) { return .failed(kind) }
            return .failed(dependencyFailed(dependency()) ? .dependencyNeverSatisfied : .cancelled)
        case .failed(let kind):
            return .failed(kind)
        }
    }

    /// FAILED: a launch failure when Slurm flags one; otherwise the signal or exit code decides.
    /// Slurm also reports `Reason=JobLaunchFailure` for a script that killed itself with a signal and for
    /// OverMemoryKill without cgroups, so the exit status wins over that reason.
    static func failure(exit: ProcessExit?, reason: String?, launchFailed: Bool) -> FailureKind {
        if launchFailed { return .launchFailure }
        if let exit, exit.signal != 0 { return .signal(exit.signal) }
        if let exit, exit.code != 0 { return .nonZeroExit(code: exit.code) }
        if reason == "JobLaunchFailure" { return .launchFailure }
        if reason == "OutOfMemory" { return .outOfMemory }
        return .nonZeroExit(code: exit?.code ?? 0)
    }
}
