import Foundation

extension Date {
    /// Internet date-time with milliseconds (`2026-11-25T13:00:44.478Z`), as the API, event streams and
    /// structured logs write times. A format style is a value, so this costs no formatter per call.
    public static let iso8601WithFractionalSeconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public var iso8601WithFractionalSeconds: String { formatted(Date.iso8601WithFractionalSeconds) }
}
