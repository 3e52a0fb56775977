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
        if let date = Self.rfc3339(text) { return date }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\"\(text)\" is not an RFC 3339 date-time (e.g. 2026-11-25T13:00:44Z)"))
    }

    /// RFC 3339 read field by field, for what the format style refuses although the RFC allows it: an
    /// offset beyond Foundation's ±18 hours (`-19:37`), a lowercase `t` or `z`.
    static func rfc3339(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[from..<(from + count)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), [UInt8(ascii: "T"), UInt8(ascii: "t")].contains(bytes[10]),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2), let minute = number(14, 2),
              let second = number(17, 2), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60 else { return nil }
        var index = 19, fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1, digits = 0
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
                digits += 1
            }
            guard digits > 0 else { return nil }
        }
        var offset = 0
        guard index < bytes.count else { return nil }
        if [UInt8(ascii: "Z"), UInt8(ascii: "z")].contains(bytes[index]) {
            index += 1
        } else if [UInt8(ascii: "+"), UInt8(ascii: "-")].contains(bytes[index]), index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                  let hours = number(index + 1, 2), let minutes = number(index + 4, 2), hours < 24, minutes < 60 {
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        // Days since 1970-01-01 from the civil date (the proleptic Gregorian calendar), shifted to a
        // year that starts in March so February's length does not matter.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: seconds)
    }
}
