import Foundation
import Synchronization

/// Keeps one hung log file from taking every log-reading thread: while a read in a run directory has
/// been running for `patience` (a read normally takes milliseconds; a hung NFS mount never returns),
/// further reads there fail at once instead of queuing behind it. Reads of other directories go on.
public final class LogReadGuard: Sendable {
    /// How long a read may run before its directory counts as hung.
    public let patience: TimeInterval
    /// Start times of the reads now running, by directory.
    private let running = Mutex<[String: [UUID: Date]]>([:])

    public static let shared = LogReadGuard(patience: 1)

    public init(patience: TimeInterval) {
        self.patience = patience
    }

    /// How long the oldest read still running in `directory` has run, when that is `patience` or more.
    public func hungFor(_ directory: String, now: Date = Date()) -> TimeInterval? {
        running.withLock { reads in
            guard let oldest = reads[directory]?.values.min() else { return nil }
            let age = now.timeIntervalSince(oldest)
            return age >= patience ? age : nil
        }
    }

    /// Records a read starting; the returned token ends it.
    func begin(_ directory: String, now: Date = Date()) -> UUID {
        let token = UUID()
        running.withLock { $0[directory, default: [:]][token] = now }
        return token
    }

    func end(_ directory: String, _ token: UUID) {
        running.withLock { reads in
            reads[directory]?[token] = nil
            if reads[directory]?.isEmpty == true { reads[directory] = nil }
        }
    }
}
