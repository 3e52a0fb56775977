import Foundation
import Synchronization

/// Each research group's `submissions_per_minute` quota: a sliding one-minute window of the times its
/// submissions were admitted, kept in memory.
///
/// In memory is enough: the quota protects the controller from a runaway script, and a restart that
/// forgets the last minute lets through at most one more minute's worth. Retries of a request with the
/// same Idempotency-Key are not counted (they create nothing).
///
/// Each admission costs the same however full the window is: times leave from the front as they age
/// out. (The window was filtered whole on every admission, and under a quota of thousands a minute
/// that was a copy of every time in the last minute per request: a submission at 600 a second walked
/// 36,000 dates.) A lock, not an actor: the work is a few comparisons, cheaper than a hop.
public final class SubmissionRateLimiter: Sendable {
    private let windows = Mutex<[String: Window]>([:])
    private let window: TimeInterval

    public init(window: TimeInterval = 60) {
        self.window = window
    }

    /// One group's admission times, oldest first, from `head` on (the slots before it have aged out
    /// and are reused once they are half the array).
    struct Window {
        var times: [Date] = []
        var head = 0
        var count: Int { times.count - head }

        /// Drops the times at the front that are `window` old at `now`. Times are appended in the order
        /// they were admitted; after the wall clock stepped back one may sit behind a newer one and
        /// leave a little late, which only errs towards refusing.
        mutating func age(now: Date, window: TimeInterval) {
            while head < times.count, now.timeIntervalSince(times[head]) >= window { head += 1 }
            if head > 64, head * 2 > times.count {
                times.removeFirst(head)
                head = 0
            }
        }
    }

    /// Admits a submission for `group` under `perMinute`, or returns how many seconds to wait.
    public func admit(group: String, perMinute: Int, now: Date = Date()) -> Int? {
        windows.withLock { windows in
            var times = windows.removeValue(forKey: group) ?? Window()
            defer { windows[group] = times }
            times.age(now: now, window: window)
            if times.count >= perMinute {
                let oldest = times.count > 0 ? times.times[times.head] : now
                return max(1, Int((window - now.timeIntervalSince(oldest)).rounded(.up)))
            }
            times.times.append(now)
            return nil
        }
    }

    /// Gives back an admission that did not lead to a new job (the request was invalid or a retry).
    public func refund(group: String) {
        windows.withLock { windows in
            guard var times = windows.removeValue(forKey: group) else { return }
            if times.count > 0 { times.times.removeLast() }
            windows[group] = times
        }
    }
}
