import Foundation
import Synchronization

/// Waiting for a task with a time limit, without waiting for the task itself to end: a structured task
/// group would wait for a child stuck in a blocking call, which is what this must never do.
public enum Deadline {
    /// The task's value, or `error` once `limit` has passed (the task goes on; with
    /// `cancellingOnTimeout` it is cancelled, which drops work that has not started).
    public static func value<T: Sendable>(of task: Task<T, Error>, within limit: Duration, orThrow error: any Error,
                                          cancellingOnTimeout: Bool = false) async throws -> T {
        let race = Race<T>()
        return try await withCheckedThrowingContinuation { continuation in
            race.start(continuation)
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled else { return }
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

    /// Resumes a continuation once, with whichever result comes first.
    private final class Race<T: Sendable>: Sendable {
        private let continuation = Mutex<CheckedContinuation<T, Error>?>(nil)

        func start(_ waiting: CheckedContinuation<T, Error>) {
            continuation.withLock { $0 = waiting }
        }

        /// True when this result was the first.
        @discardableResult
        func finish(_ result: Result<T, Error>) -> Bool {
            guard let waiting = continuation.withLock({ value -> CheckedContinuation<T, Error>? in
                defer { value = nil }
                return value
            }) else { return false }
            waiting.resume(with: result)
            return true
        }
    }
}
