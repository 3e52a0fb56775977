import Foundation
import HPCBridge

/// How the pages write times, ids and progress: pure functions, so every page says them the same way.
enum WebText {
    /// The first block of a UUID: enough to tell a group's runs apart on a page (the full id is on the
    /// object's own page and in its link).
    static func shortID(_ id: UUID) -> String {
        String(id.uuidString.lowercased().prefix(8))
    }

    /// `2026-12-07 21:04:05 UTC`: one time zone for everyone, as the scheduler's logs are read.
    static func time(_ date: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d UTC", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    /// For `<time datetime>`.
    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// A `YYYY-MM-DD` day (an `<input type="date">`'s value) as its first instant in UTC.
    static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: year, month: month, day: day))
    }

    /// How many of the counted tasks or jobs have ended.
    static func ended(_ counts: [JobState: Int]) -> Int {
        counts.filter { $0.key.isTerminal }.values.reduce(0, +)
    }

    /// Job counts by state, as the pages' state badges list them: in the lifecycle's order, states with
    /// none left out.
    static func stateBadges(_ counts: [JobStore.StateCount], where include: (JobStore.StateCount) -> Bool) -> [[String: Any]] {
        var byState: [JobState: Int] = [:]
        for count in counts where include(count) { byState[count.state, default: 0] += count.count }
        return JobState.allCases.compactMap { state in byState[state].map { ["state": state.rawValue, "count": $0] } }
    }

    /// Tasks ended and tasks in all, over a run's steps (a single step counts as one task).
    static func taskProgress(_ view: JobService.RunView) -> (done: Int, total: Int) {
        var done = 0, total = 0
        for (step, job) in view.steps {
            if let count = step.taskCount, count > 0 {
                total += count
                done += ended(view.taskCounts[step.name] ?? [:])
            } else {
                total += 1
                if job.state.isTerminal { done += 1 }
            }
        }
        return (done, total)
    }

    /// A duration in words: `42 s`, `3 min 5 s`, `2 h 10 min`.
    static func duration(_ seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \((s % 3600) / 60) min"
    }
}
