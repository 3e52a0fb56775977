import Foundation

/// Waiting for work with a time limit, without waiting for the work itself to end: a structured task
/// group would wait for a child stuck in a blocking call, which is what this must never do.
public enum Deadline {
    /// Starts `operation` in a task of its own and returns its value if it ends within `limit`, else
    /// nil; the operation goes on either way (a submission still in flight is found later by its tag).
    ///
    /// The operation's task hands its result to the caller itself and the limit is an entry on
    /// `DeadlineTimer`'s thread: one task per wait (a waiter task and a sleeping timer task per wait
    /// made three, on the path of every submission).
    public static func valueIfReady<T: Sendable>(within limit: Duration,
                                                 of operation: @escaping @Sendable () async throws -> T) async throws -> T? {
        let race = ResumeOnce<T?>()
        return try await withCheckedThrowingContinuation { continuation in
            race.start(continuation)
            let timer = DeadlineTimer.shared.schedule(after: limit) { race.finish(.success(nil)) }
            Task {
                let result: Result<T?, any Error>
                do { result = .success(try await operation()) } catch { result = .failure(error) }
                timer.cancel()
                race.finish(result)
            }
        }
    }
}
