/// Which libslurm error numbers mean "the controller (or its database) is not reachable right now",
/// as opposed to "the controller refused this request". The first kind leaves a job `accepted` for
/// the reconciler to submit later; the second fails it with Slurm's words.
///
/// Numbers from Slurm 22.05's `slurm_errno.h` (an enum, so the values are counted from its anchors).
/// A stopped slurmctld answers 1800 (SLURMCTLD_COMMUNICATIONS_CONNECTION_ERROR), a wrong port 1001:
/// the reliability suite's outage scenario found 1800 missing here, which failed a job.
public enum SlurmErrorCodes {
    static let transient: [Int32: String] = [
        11: "EAGAIN (the controller is busy; sbatch retries it too)",
        1001: "SLURM_COMMUNICATIONS_CONNECTION_ERROR",
        1002: "SLURM_COMMUNICATIONS_SEND_ERROR",
        1003: "SLURM_COMMUNICATIONS_RECEIVE_ERROR",
        1004: "SLURM_COMMUNICATIONS_SHUTDOWN_ERROR",
        1007: "SLURM_PROTOCOL_AUTHENTICATION_ERROR (munge restarting)",
        1013: "SLURM_COMMUNICATIONS_MISSING_SOCKET_ERROR",
        1800: "SLURMCTLD_COMMUNICATIONS_CONNECTION_ERROR",
        1801: "SLURMCTLD_COMMUNICATIONS_SEND_ERROR",
        1802: "SLURMCTLD_COMMUNICATIONS_RECEIVE_ERROR",
        1803: "SLURMCTLD_COMMUNICATIONS_SHUTDOWN_ERROR",
        2026: "ESLURM_IN_STANDBY_MODE",
        2131: "ESLURM_IN_STANDBY_USE_BACKUP",
        5000: "SLURM_PROTOCOL_SOCKET_IMPL_ZERO_RECV_LENGTH",
        5001: "SLURM_PROTOCOL_SOCKET_IMPL_NEGATIVE_RECV_LENGTH",
        5002: "SLURM_PROTOCOL_SOCKET_IMPL_NOT_ALL_DATA_SENT",
        5003: "ESLURM_PROTOCOL_INCOMPLETE_PACKET",
        5004: "SLURM_PROTOCOL_SOCKET_IMPL_TIMEOUT",
        5005: "SLURM_PROTOCOL_SOCKET_ZERO_BYTES_SENT",
        6002: "ESLURM_AUTH_NET_ERROR",
        7000: "ESLURM_DB_CONNECTION",
        7008: "ESLURM_DB_CONNECTION_INVALID",
    ]

    /// Errors after which the request may have reached the controller anyway: it was (partly) sent and
    /// no answer came. A submission that ended so is not repeated until snapshots show the controller
    /// does not have it (`SubmissionAttempts`); a refused connection, by contrast, delivered nothing.
    static let unanswered: Set<Int32> = [1002, 1003, 1801, 1802, 5000, 5001, 5002, 5003, 5004, 5005]

    /// True when the request may have been delivered but no answer came back.
    public static func isUnanswered(_ number: Int32) -> Bool { unanswered.contains(number) }

    /// True when a call that failed with this error number is worth retrying later.
    public static func isTransient(_ number: Int32) -> Bool { transient[number] != nil }

    /// Refusals of arrays and dependencies, in words a user can act on, by error number and by the words
    /// libslurm's `slurm_strerror` (and so sbatch) gives for it. All are final: trying again cannot help.
    static let arrayAndDependencyRefusals: [(number: Int32, slurmWords: String, explanation: String)] = [
        (2081, "Invalid job array specification",
         "ESLURM_INVALID_ARRAY: the array has an index at or over the cluster's MaxArraySize (1001 unless slurm.conf says otherwise), more tasks than MaxArraySize, or a malformed index list"),
        (2012, "Pathname of a file, directory or other parameter too long",
         "ESLURM_PATHNAME_TOO_LONG: a value is over Slurm's limit; an array's index list may be at most 4096 characters, so split the tasks over several arrays"),
        (2038, "Job dependency problem",
         "ESLURM_DEPENDENCY: the dependency names no valid job (a malformed id, or a job of another user) or has a malformed form"),
        (2071, "Circular job dependency", "ESLURM_CIRCULAR_DEPENDENCY: the job would depend on itself through its dependencies"),
    ]

    /// Slurm's words for a refusal followed by what they mean, when the error number (library path) or
    /// the message (CLI path) is one of `arrayAndDependencyRefusals`; nil otherwise.
    public static func explainRefusal(number: Int32?, message: String) -> String? {
        guard let refusal = arrayAndDependencyRefusals.first(where: { $0.number == number || message.contains($0.slurmWords) }) else { return nil }
        return "\(message) (\(refusal.explanation))"
    }
}
