import Synchronization

/// A continuation that several parties race to resume (a call's result, its deadline): the first
/// result wins and the others are ignored.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func start(_ waiting: CheckedContinuation<T, any Error>) {
        continuation.withLock { $0 = waiting }
    }

    /// True once a result has resumed the caller.
    var isFinished: Bool { continuation.withLock { $0 == nil } }

    /// Resumes the caller with `result` if nothing did before; true when this result was the first.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        guard let waiting = continuation.withLock({ value -> CheckedContinuation<T, any Error>? in
            defer { value = nil }
            return value
        }) else { return false }
        waiting.resume(with: result)
        return true
    }
}
