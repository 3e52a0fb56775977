/// How a job's process ended: an exit code, or the signal that killed it.
///
/// Schedulers report this in different encodings, and guessing loses information: `squeue --json`
/// gives the raw wait status (`exit 3` is 768, SIGKILL is 9), `scontrol` and `sacct` give `code:signal`
/// (`3:0`, `0:9`), PBS gives one number where 256+N and 128+N mean signals. Each source has its own
/// decoder here.
public struct ProcessExit: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The exit code (0-255); 0 when killed by a signal.
    public let code: Int
    /// The terminating signal; 0 when the process exited.
    public let signal: Int

    public init(code: Int, signal: Int = 0) {
        self.code = code
        self.signal = signal
    }

    public static let success = ProcessExit(code: 0)

    /// From a raw POSIX wait status (Slurm's `exit_code` in `squeue --json` and in libslurm).
    public init(waitStatus raw: Int) {
        if raw & 0x7f == 0 {
            self.init(code: (raw >> 8) & 0xff)
        } else {
            self.init(code: 0, signal: raw & 0x7f)
        }
    }

    /// From Slurm's `code:signal` text (`scontrol show job`, `sacct`); `nil` when malformed.
    public init?(slurmPair text: Substring) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let code = Int(parts[0]), let signal = Int(parts[1]) else { return nil }
        self.init(code: code, signal: signal)
    }

    public var description: String { signal != 0 ? "signal \(signal)" : "exit \(code)" }
}
