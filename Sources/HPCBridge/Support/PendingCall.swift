import Synchronization

/// A blocking call started on a pool now and awaited later (`BlockingCallPool.start`), so its thread
/// hop is off the caller's path: a submission's run directory is created while the job's insert
/// commits, and by the time the submitter needs it, it is usually there and the wait does not suspend.
public final class PendingCall<T: Sendable>: Sendable {
    private enum State {
        case running(waiter: ResumeOnce<T>?, timer: DeadlineTimer.Scheduled?)
        case finished(Result<T, any Error>)
    }

    private let state = Mutex<State>(.running(waiter: nil, timer: nil))
    private let pool: String

    init(pool: String) { self.pool = pool }

    /// A call that ended before it began (the pool was full).
    init(pool: String, failed error: any Error) {
        self.pool = pool
        state.withLock { $0 = .finished(.failure(error)) }
    }

    /// The call's result, waiting at most `deadline` from now (`BlockingCallPool.TimedOut`); at once,
    /// without suspending, when the call has ended.
    public func value(deadline: Duration) async throws -> T {
        if case .finished(let result) = state.withLock({ $0 }) { return try result.get() }
        let waiter = ResumeOnce<T>()
        return try await withCheckedThrowingContinuation { continuation in
            waiter.start(continuation)
            let timer = DeadlineTimer.shared.schedule(after: deadline) { [pool] in
                waiter.finish(.failure(BlockingCallPool.TimedOut(pool: pool, deadline: deadline)))
            }
            let ended = state.withLock { state -> Result<T, any Error>? in
                switch state {
                case .finished(let result): return result
                case .running: state = .running(waiter: waiter, timer: timer); return nil
                }
            }
            if let ended {
                timer.cancel()
                waiter.finish(ended)
            }
        }
    }

    /// Called once, by the pool's thread, with the call's result.
    func complete(_ result: Result<T, any Error>) {
        let waiting = state.withLock { state -> (ResumeOnce<T>, DeadlineTimer.Scheduled?)? in
            defer { state = .finished(result) }
            if case .running(let waiter?, let timer) = state { return (waiter, timer) }
            return nil
        }
        if let (waiter, timer) = waiting {
            timer?.cancel()
            waiter.finish(result)
        }
    }
}
