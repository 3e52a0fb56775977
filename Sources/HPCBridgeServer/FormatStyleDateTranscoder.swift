import Foundation
import HPCBridge
import OpenAPIRuntime

/// Internet date-times with milliseconds, written and read with Foundation's ISO 8601 format style.
/// The runtime's `.iso8601WithFractionalSeconds` goes through `ISO8601DateFormatter` (ICU on Linux), which
/// took about 3 % of a job read in the profile (BENCHMARKS.md); the format style gives the same text.
struct FormatStyleDateTranscoder: DateTranscoder {
    func encode(_ date: Date) throws -> String {
        date.formatted(Date.iso8601WithFractionalSeconds)
    }

    /// Accepts times with or without fractional seconds, as clients write both.
    func decode(_ text: String) throws -> Date {
        if let date = try? Date(text, strategy: Date.iso8601WithFractionalSeconds) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\"\(text)\" is not an RFC 3339 date-time (e.g. 2026-11-25T13:00:44Z)"))
    }
}
