import Foundation

/// Waiting for a task with a time limit, without waiting for the task itself to end: a structured task
/// group would wait for a child stuck in a blocking call, which is what this must never do.
public enum Deadline {
    /// The task's value, or `error` once `limit` has passed (the task goes on; with
    /// `cancellingOnTimeout` it is cancelled, which drops work that has not started).
    public static func value<T: Sendable>(of task: Task<T, Error>, within limit: Duration, orThrow error: any Error,
                                          cancellingOnTimeout: Bool = false) async throws -> T {
        let race = ResumeOnce<T>()
        return try await withCheckedThrowingContinuation { continuation in
            race.start(continuation)
            let timer = DeadlineTimer.shared.schedule(after: limit) {
                if race.finish(.failure(error)), cancellingOnTimeout { task.cancel() }
            }
            Task {
                let result = await task.result
                timer.cancel()
                race.finish(result)
            }
        }
    }

    /// The task's value if it ends within `limit`, else nil (the task goes on).
    public static func valueIfReady<T: Sendable>(of task: Task<T, Error>, within limit: Duration) async throws -> T? {
        do {
            return try await value(of: task, within: limit, orThrow: NotYet())
        } catch is NotYet {
            return nil
        }
    }

    private struct NotYet: Error {}
}
