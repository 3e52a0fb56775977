import Foundation

/// Each research group's `submissions_per_minute` quota: a sliding one-minute window of the times its
/// submissions were admitted, kept in memory.
///
/// In memory is enough: the quota protects the controller from a runaway script, and a restart that
/// forgets the last minute lets through at most one more minute's worth. Retries of a request with the
/// same Idempotency-Key are not counted (they create nothing).
public actor SubmissionRateLimiter {
    private var admitted: [String: [Date]] = [:]
    private let window: TimeInterval

    public init(window: TimeInterval = 60) {
        self.window = window
    }

    /// Admits a submission for `group` under `perMinute`, or returns how many seconds to wait.
    public func admit(group: String, perMinute: Int, now: Date = Date()) -> Int? {
        var times = admitted[group, default: []].filter { now.timeIntervalSince($0) < window }
        if times.count >= perMinute {
            admitted[group] = times
            let oldest = times.first ?? now
            return max(1, Int((window - now.timeIntervalSince(oldest)).rounded(.up)))
        }
        times.append(now)
        admitted[group] = times
        return nil
    }

    /// Gives back an admission that did not lead to a new job (the request was invalid or a retry).
    public func refund(group: String) {
        guard var times = admitted[group], !times.isEmpty else { return }
        times.removeLast()
        admitted[group] = times
    }
}
