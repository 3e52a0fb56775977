import Foundation
import GRDB
import Synchronization

/// Writes of concurrent requests in shared transactions (group commit): every write that arrives while
/// the store's writer is busy waits for it, and then all of them run in one transaction, with one commit
/// (one WAL sync) for the lot.
///
/// Why: a submission makes two small writes (the accepted job, then its scheduler id), and with one
/// transaction each, eight concurrent clients spent most of the store's time queuing for the writer,
/// beginning and committing. Batching keeps every guarantee of a transaction per write: a write's
/// caller resumes only after the commit that holds it (durable before the scheduler is called), a write
/// that refuses changes nothing and does not disturb the others, one that fails halfway is retried with
/// every other write of the batch alone (so its failure is its own), and writes commit in the order they
/// arrived. (No savepoint per write: SQLite prepares and runs three statements for each, which was a
/// third of a shared transaction's cost.)
///
/// Callers `await` instead of blocking a thread: the work runs on GRDB's writer queue, off Swift's
/// cooperative pool.
final class GroupCommit: Sendable {
    private let pool: DatabasePool
    private let queue = Mutex(Queue())
    /// Transactions committed so far, and the writes they held (for tests and the curious).
    let committed = Mutex((transactions: 0, writes: 0))

    private struct Queue {
        var waiting: [Entry] = []
        var drainScheduled = false
    }

    /// One caller's write: runs it inside the shared transaction, and later resumes the caller.
    private struct Entry: Sendable {
        /// Whether the commit that holds it must reach the disk before the caller resumes (see `write`).
        let flush: Bool
        /// Runs the write inside the shared transaction and keeps its outcome; see `Applied`.
        let apply: @Sendable (Database, Batch) -> Applied
        /// Resumes the caller: with the write's own outcome, or with the commit's error.
        let finish: @Sendable (_ commitError: (any Error)?) -> Void
    }

    /// How a write went inside the shared transaction.
    private enum Applied {
        /// It succeeded, or it refused before it changed anything (a quota, a key used for another
        /// request): the transaction goes on either way.
        case clean
        /// It failed after changing rows: the transaction must be undone, and each write run alone.
        case failedHalfway
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
    /// committed. `body` should refuse (throw) before it writes; an error thrown after it wrote makes
    /// the batch run again write by write. A failed commit fails every write of the transaction.
    ///
    /// `flush: false` is for a write whose loss in a crash of the node the service recovers from on its
    /// own (a submission's Slurm id: the reconciler finds the job by its tag and adopts it): a
    /// transaction of such writes only is committed with `synchronous = NORMAL`, written to the WAL but
    /// not flushed, and the next flushed commit takes it to the disk with its own. Any other write in the
    /// transaction makes it flush.
    func write<T: Sendable>(flush: Bool = true, _ body: @escaping @Sendable (Database, Batch) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            _ = enqueue(flush: flush, body) { continuation.resume(with: $0) }
        }
    }

    /// `write`, waiting on the calling thread: for a thread meant for blocking work that runs a whole
    /// submission in a row (`SubmissionLane`), where a suspension and a resumption on Swift's pool would
    /// be two more thread hops. Never call it on the store's writer queue: it would wait for itself.
    ///
    /// The caller that finds no drain scheduled runs the shared transaction itself, on its own thread
    /// (GRDB's synchronous write runs the block on the calling thread once the writer is free), instead
    /// of waking the writer queue's thread and then being woken by it: two thread switches fewer per
    /// transaction. Writes that arrive meanwhile wait for it, or for the next caller to lead.
    func writeWaiting<T: Sendable>(flush: Bool = true, _ body: @escaping @Sendable (Database, Batch) throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let leads = enqueue(flush: flush, body, drainOnCaller: true) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        if leads {
            // GRDB's synchronous write: the block runs on this thread once the writer is free.
            pool.writeWithoutTransaction { db in drain(db) }
        }
        done.wait()
        return try outcome.withLock { $0 }!.get()
    }

    /// Queues one write for the next shared transaction; `finish` gets its outcome once that has
    /// committed. When no drain is scheduled, one is: on the writer queue, or, with `drainOnCaller`, by
    /// the caller itself (true is returned: the caller must then run `drain` on the writer connection).
    private func enqueue<T: Sendable>(flush: Bool, _ body: @escaping @Sendable (Database, Batch) throws -> T, drainOnCaller: Bool = false,
                                      finish: @escaping @Sendable (Result<T, any Error>) -> Void) -> Bool {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let entry = Entry(
            flush: flush,
            apply: { db, batch in
                let changesBefore = db.totalChangesCount
                do {
                    let value = try body(db, batch)
                    outcome.withLock { $0 = .success(value) }
                    return .clean
                } catch {
                    outcome.withLock { $0 = .failure(error) }
                    return db.totalChangesCount == changesBefore && db.isInsideTransaction ? .clean : .failedHalfway
                }
            },
            finish: { commitError in
                if let commitError {
                    finish(.failure(commitError))
                } else {
                    finish(outcome.withLock { $0 }!)
                }
            })
        let schedule = queue.withLock { queue -> Bool in
            queue.waiting.append(entry)
            defer { queue.drainScheduled = true }
            return !queue.drainScheduled
        }
        if schedule && !drainOnCaller {
            pool.asyncWriteWithoutTransaction { [self] db in drain(db) }
        }
        return schedule && drainOnCaller
    }

    /// Writes waiting for the next transaction.
    var waiting: Int { queue.withLock { $0.waiting.count } }

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
        if !commit(entries, in: db) {
            // A write failed after it had changed rows (or SQLite ended the transaction): nothing of the
            // shared transaction was kept, and each write now runs in a transaction of its own, so the
            // failure stays with the write that caused it. (Writes refuse before they change anything, so
            // this is for the unexpected: a full disk, a constraint the code did not foresee.)
            for entry in entries where !commit([entry], in: db) {
                entry.finish(nil)
            }
        }
    }

    /// Runs `entries` in one transaction and, when it commits, tells observers and resumes every caller.
    /// Returns false, having resumed no one, when a write failed halfway (the transaction is rolled back).
    /// A failed commit resumes every caller with its error.
    private func commit(_ entries: [Entry], in db: Database) -> Bool {
        let batch = Batch()
        var halfway = false
        // The writer connection's setting is FULL (JobStore); a transaction with nothing that must be
        // flushed lowers it for its own commit only, and every other writer finds FULL again.
        let transaction = {
            try db.inTransaction(.immediate) {
                for entry in entries {
                    if entry.apply(db, batch) == .failedHalfway {
                        halfway = true
                        return .rollback
                    }
                }
                return .commit
            }
        }
        do {
            if entries.contains(where: \.flush) { try transaction() } else { try db.withUnflushedCommits(transaction) }
        } catch {
            if halfway { return false }
            for entry in entries { entry.finish(error) }
            return true
        }
        if halfway { return false }
        committed.withLock { $0 = ($0.transactions + 1, $0.writes + entries.count) }
        for observer in batch.afterCommit { observer() }
        for entry in entries { entry.finish(nil) }
        return true
    }
}
