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
    /// How long the read-ahead waits for the files (`readingAhead`).
    public var readDeadline: Duration
    /// This resolver's reads still running, so a hung one is not joined by another each cycle.
    let reads = LogReadGuard(patience: 1)

    public init(exitFileDeadline: TimeInterval = 300, readDeadline: Duration = .seconds(5),
                readFile: @escaping @Sendable (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }) {
        self.exitFileDeadline = exitFileDeadline
        self.readDeadline = readDeadline
        self.readFile = readFile
    }

    /// This resolver with `paths` read ahead on the files pool, where a hung shared filesystem holds a
    /// thread of that pool instead of one of Swift's cooperative threads (the reconciler's cycle runs on
    /// those). The reads share one call that the cycle waits for at most `readDeadline`; while an earlier
    /// one has run for a second and not returned, nothing is read again, so a hung mount holds one
    /// thread. A file not read in time counts as not there yet: the job stays pending, and is called
    /// lost only after `exitFileDeadline`.
    public func readingAhead(_ paths: [String]) async -> VanishedJobResolver {
        var ahead = self
        let readFile = self.readFile, unique = Array(Set(paths)), guarding = reads
        var contents: [String: String] = [:]
        if !unique.isEmpty, guarding.hungFor(Self.guardKey) == nil {
            contents = (try? await BlockingCallPool.files.run(deadline: readDeadline) {
                let token = guarding.begin(Self.guardKey)
                defer { guarding.end(Self.guardKey, token) }
                var found: [String: String] = [:]
                for path in unique { if let text = readFile(path) { found[path] = text } }
                return found
            }) ?? [:]
        }
        let read = contents
        ahead.readFile = { read[$0] }
        return ahead
    }

    /// What `reads` knows the exit-code reads by.
    static let guardKey = "exit-code files of vanished jobs"

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
