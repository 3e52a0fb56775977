import Foundation
import NIOPosix
import Synchronization

/// Threads for calls that block (a libslurm RPC, a read from a log file on a shared filesystem), so
/// they never hold one of Swift's cooperative threads: on a 2-core login node there are two, and one
/// libslurm call waiting out a hung controller's timeout used to stall every request behind it.
///
/// Two bounds keep a hang from spreading. At most `maximumInFlight` calls are running or queued; one
/// more is refused at once (`Saturated`) instead of queuing behind calls that may never return. And a
/// caller waits at most its deadline (`TimedOut`); the call keeps its thread until it returns, but a
/// call that had not started yet is dropped.
public final class BlockingCallPool: Sendable {
    public let name: String
    public let threads: Int
    public let maximumInFlight: Int
    private let pool: NIOThreadPool
    private let inFlight = Mutex(0)

    /// The pool for scheduler calls (libslurm): enough threads for concurrent submissions to overlap
    /// in the controller, few enough that a hung controller holds a bounded number.
    public static let scheduler = BlockingCallPool(name: "scheduler", threads: 8, maximumInFlight: 256)
    /// The pool for job logs and run directories: a hung mount can hold these threads, and nothing else
    /// (and `LogReadGuard` lets one hung directory hold only one or two of them).
    public static let files = BlockingCallPool(name: "files", threads: 16, maximumInFlight: 64)
    /// The pool for what a submission does before its insert (`JobSubmitter.acceptAndPlan`): checking
    /// input paths resolves their symbolic links on the input filesystem, which can hang; planning and
    /// rendering run with it in the same call. Few threads: a hung input mount holds these and nothing
    /// else, and submissions past them answer 503 at their deadline.
    public static let planning = BlockingCallPool(name: "planning", threads: 4, maximumInFlight: 256)
    /// The pool for the store's synchronous calls on the request path (`JobStore.offload`): SQLite
    /// reads and writes that may wait for the disk or for the writer. As many threads as GRDB has
    /// readers, so reads overlap as they would on its own queues.
    public static let store = BlockingCallPool(name: "store", threads: 5, maximumInFlight: 1024)
    /// The pool for whole submissions in a row (`SubmissionLane`): planning, the insert, the run
    /// directory, the libslurm call and its record on one thread. Enough threads for sixteen clients'
    /// submissions to overlap while each waits for a commit or the controller; `SubmissionLane` keeps a
    /// hung controller from holding more than half of them.
    public static let submissions = BlockingCallPool(name: "submissions", threads: 16, maximumInFlight: 256)

    /// A call refused because `maximumInFlight` calls already wait.
    public struct Saturated: Error, CustomStringConvertible {
        public let pool: String
        public let inFlight: Int
        public var description: String {
            "\(inFlight) \(pool) calls are already waiting (the \(BlockingCallPool.waitedOn[pool] ?? pool) is not answering); try again later"
        }
    }

    static let waitedOn = ["files": "filesystem", "scheduler": "controller", "store": "job store's disk", "planning": "input filesystem", "submissions": "input filesystem or job store"]

    /// A call whose caller stopped waiting at its deadline.
    public struct TimedOut: Error, CustomStringConvertible {
        public let pool: String
        public let deadline: Duration
        public var description: String { "no answer within \(deadline) (\(pool) call)" }
    }

    public init(name: String, threads: Int, maximumInFlight: Int) {
        self.name = name
        self.threads = threads
        self.maximumInFlight = maximumInFlight
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    /// Calls running or queued now.
    public var callsInFlight: Int { inFlight.withLock { $0 } }

    /// Runs `body` on one of the pool's threads and returns its result, or throws `TimedOut` after
    /// `deadline` or `Saturated` at once when the pool is full.
    public func run<T: Sendable>(deadline: Duration, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        guard admit() else { throw Saturated(pool: name, inFlight: maximumInFlight) }
        // No task per call: the pool's thread resumes the caller, and the shared timer gives up for it
        // at the deadline (see DeadlineTimer for why).
        let call = ResumeOnce<T>()
        return try await withCheckedThrowingContinuation { continuation in
            call.start(continuation)
            let timeout = DeadlineTimer.shared.schedule(after: deadline) { [name] in
                call.finish(.failure(TimedOut(pool: name, deadline: deadline)))
            }
            pool.submit { state in
                // A call whose caller gave up before a thread was free is dropped: it may be one of many
                // queued behind a hung one. (Cancelled: the pool is shutting down.)
                guard state == .active, !call.isFinished else {
                    timeout.cancel()
                    self.inFlight.withLock { $0 -= 1 }
                    call.finish(.failure(CancellationError()))
                    return
                }
                let result = Result(catching: body)
                timeout.cancel()
                self.inFlight.withLock { $0 -= 1 }
                call.finish(result)
            }
        }
    }

    /// Starts `body` on one of the pool's threads without waiting for it; its result is awaited later,
    /// with a deadline, through the returned `PendingCall` (already failed with `Saturated` when the pool
    /// is full).
    public func start<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> PendingCall<T> {
        guard admit() else { return PendingCall(pool: name, failed: Saturated(pool: name, inFlight: maximumInFlight)) }
        let call = PendingCall<T>(pool: name)
        pool.submit { state in
            let result = state == .active ? Result(catching: body) : .failure(CancellationError())
            self.inFlight.withLock { $0 -= 1 }
            call.complete(result)
        }
        return call
    }

    /// Queues `body` for one of the pool's threads without a result to wait for: for work that answers
    /// its caller itself (`SubmissionLane`). False, and nothing queued, when the pool is full. `body`
    /// gets false when the pool shut down before it ran.
    public func enqueue(_ body: @escaping @Sendable (_ active: Bool) -> Void) -> Bool {
        guard admit() else { return false }
        pool.submit { state in
            body(state == .active)
            self.inFlight.withLock { $0 -= 1 }
        }
        return true
    }

    /// Counts one more call in flight, unless `maximumInFlight` already are.
    private func admit() -> Bool {
        inFlight.withLock { count in
            guard count < maximumInFlight else { return false }
            count += 1
            return true
        }
    }
}
