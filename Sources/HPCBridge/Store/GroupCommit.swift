import Foundation
import GRDB
import Synchronization

/// Writes of concurrent requests in shared transactions (group commit): every write that arrives while
/// the store's writer is busy waits for it, and then all of them run in one transaction, each in a
/// savepoint of its own, with one commit (one WAL sync) for the lot.
///
/// Why: a submission makes two small writes (the accepted job, then its scheduler id), and with one
/// transaction each, eight concurrent clients spent most of the store's time queuing for the writer,
/// beginning and committing. Batching keeps every guarantee of a transaction per write: a write's
/// caller resumes only after the commit that holds it (durable before the scheduler is called), one
/// write that throws rolls back only its own savepoint, and writes commit in the order they arrived.
///
/// Callers `await` instead of blocking a thread: the work runs on GRDB's writer queue, off Swift's
/// cooperative pool.
final class GroupCommit: Sendable {
    private let pool: DatabasePool
    private let queue = Mutex(Queue())

    private struct Queue {
        var waiting: [Entry] = []
        var drainScheduled = false
    }

    /// One caller's write: runs it inside the shared transaction, and later resumes the caller.
    private struct Entry: Sendable {
        /// Runs the write in its savepoint; returns false when the failure ended the whole transaction.
        let apply: @Sendable (Database, Batch) -> Bool
        /// Resumes the caller: with the write's own outcome, or with the commit's error.
        let finish: @Sendable (_ commitError: (any Error)?) -> Void
    }

    /// What the writes of one transaction share: counts they keep current among themselves (a group's
    /// open jobs), and what to tell observers once the transaction has committed.
    final class Batch: @unchecked Sendable {
        /// Open jobs per group, as counted in this transaction and kept up to date by its inserts.
        var openJobs: [String: Int] = [:]
        /// Called after the commit, in order (the store's observers).
        var afterCommit: [@Sendable () -> Void] = []
    }

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `body` in the next shared transaction and returns its value once that transaction has
    /// committed. An error thrown by `body` undoes only its own writes; a failed commit fails every write
    /// of the transaction.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database, Batch) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Mutex<Result<T, any Error>?>(nil)
            let entry = Entry(
                apply: { db, batch in
                    do {
                        var value: T?
                        try db.inSavepoint {
                            value = try body(db, batch)
                            return .commit
                        }
                        outcome.withLock { $0 = .success(value!) }
                        return true
                    } catch {
                        outcome.withLock { $0 = .failure(error) }
                        // Some failures (a full disk, an I/O error) make SQLite roll back the whole
                        // transaction; writes after it must not run outside it.
                        return db.isInsideTransaction
                    }
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: outcome.withLock { $0 } ?? .failure(TransactionEnded()))
                    }
                })
            let schedule = queue.withLock { queue -> Bool in
                queue.waiting.append(entry)
                defer { queue.drainScheduled = true }
                return !queue.drainScheduled
            }
            if schedule {
                pool.asyncWriteWithoutTransaction { [self] db in drain(db) }
            }
        }
    }

    /// Runs every waiting write in one transaction (on the writer queue). Writes that arrive meanwhile
    /// schedule the next drain, which runs right after this one.
    private func drain(_ db: Database) {
        let entries = queue.withLock { queue -> [Entry] in
            defer {
                queue.waiting = []
                queue.drainScheduled = false
            }
            return queue.waiting
        }
        guard !entries.isEmpty else { return }
        let batch = Batch()
        var ran = 0
        do {
            try db.inTransaction(.immediate) {
                for entry in entries {
                    ran += 1
                    guard entry.apply(db, batch) else { throw TransactionEnded() }
                }
                return .commit
            }
        } catch {
            // Nothing of this transaction was kept: every write fails with the reason, except the one
            // whose own failure ended it, which learns its own error.
            for (index, entry) in entries.enumerated() {
                entry.finish(error is TransactionEnded && index == ran - 1 ? nil : error)
            }
            return
        }
        for observer in batch.afterCommit { observer() }
        for entry in entries { entry.finish(nil) }
    }

    /// A write's failure ended the shared transaction (SQLite rolled it back), so no write of it was kept.
    struct TransactionEnded: Error, CustomStringConvertible {
        var description: String { "the store rolled back the transaction this write was part of; retry" }
    }
}
