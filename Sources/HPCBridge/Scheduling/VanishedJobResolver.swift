import Foundation

/// Decides what became of a job the controller no longer lists. Peers read "not found" as success;
/// hpcbridge asks accounting, then the job's own exit-code file (waiting a while, because shared
/// file systems show files late), and only then calls the job lost, with the reason.
public struct VanishedJobResolver: Sendable {
    /// What is known about a vanished job.
    public enum Resolution: Sendable, Equatable {
        /// Its outcome, and where it came from (`accounting` or `exit-code file`).
        case resolved(SchedulerStatus, exit: ProcessExit?, source: String)
        /// Nothing yet; ask again on a later cycle.
        case pending
        /// Given up: the reason says what was tried.
        case lost(reason: String)
    }

    /// How long after the job vanished to keep waiting for its exit-code file.
    public var exitFileDeadline: TimeInterval
    /// Reads a file's contents (injected so tests need no shared file system).
    public var readFile: @Sendable (String) -> String?

    public init(exitFileDeadline: TimeInterval = 300, readFile: @escaping @Sendable (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }) {
        self.exitFileDeadline = exitFileDeadline
        self.readFile = readFile
    }

    /// - Parameters:
    ///   - accounting: the accounting record, if accounting answered with one.
    ///   - accountingError: why accounting could not answer, if it could not.
    ///   - exitCodePath: the job's exit-code file (`<run dir>/hpcbridge.exit_code`).
    ///   - vanishedAt: when the job was first missing from the controller.
    public func resolve(accounting: SchedulerJobState?, accountingError: String?, exitCodePath: String, vanishedAt: Date, now: Date) -> Resolution {
        if let accounting, accounting.status.isTerminal {
            return .resolved(accounting.status, exit: accounting.exit, source: "accounting")
        }
        if let text = readFile(exitCodePath), let code = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            // The prologue writes the script's status: 143 after TERM, 128+N after signal N.
            let status: SchedulerStatus = code == 0 ? .completed : (code > 128 && code < 160 ? .failed(.signal(code - 128)) : .failed(.nonZeroExit(code: code)))
            let exit = code > 128 && code < 160 ? ProcessExit(code: 0, signal: code - 128) : ProcessExit(code: code)
            return .resolved(status, exit: exit, source: "exit-code file")
        }
        if now.timeIntervalSince(vanishedAt) < exitFileDeadline { return .pending }
        let accountingPart = accountingError.map { "accounting could not answer (\($0))" }
            ?? (accounting == nil ? "accounting has no record of it" : "accounting still shows it as \(accounting!.rawState)")
        return .lost(reason: "the controller no longer lists the job, \(accountingPart), and no exit-code file appeared at \(exitCodePath) within \(Int(exitFileDeadline)) s")
    }
}
