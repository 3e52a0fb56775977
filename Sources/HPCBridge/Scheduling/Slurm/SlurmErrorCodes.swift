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

    /// True when a call that failed with this error number is worth retrying later.
    public static func isTransient(_ number: Int32) -> Bool { transient[number] != nil }
}
