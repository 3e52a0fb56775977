import Foundation
import Logging

/// One log line per event, as logfmt (`time=... level=info msg="job accepted" job_id=...`) or as a JSON
/// object, for journald and log shippers. Metadata keys are written as they are; values are quoted and
/// escaped so a line is always one line.
///
/// Hand-written because swift-log ships only a human-oriented stream handler; the two formats are a
/// few lines each.
public struct StructuredLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case text, logfmt, json
    }

    public let label: String
    public let format: Format
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let write: @Sendable (String) -> Void

    public init(label: String, format: Format, level: Logger.Level, write: @escaping @Sendable (String) -> Void = StructuredLogHandler.standardError) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes a line to standard error, whole (one write per line, so concurrent lines never interleave).
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(line.utf8))
    }

    public func log(event: LogEvent) {
        var fields = metadata.merging(event.metadata ?? [:]) { $1 }.mapValues(Self.flatten)
        fields["label"] = fields["label"] ?? label
        write(Self.line(format: format, time: Date(), level: event.level, message: "\(event.message)", fields: fields))
    }

    static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        case .array(let items): return "[" + items.map(flatten).joined(separator: ",") + "]"
        case .dictionary(let d): return "{" + d.keys.sorted().map { "\($0)=\(flatten(d[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    /// One line in the chosen format (a pure function, for tests).
    public static func line(format: Format, time: Date, level: Logger.Level, message: String, fields: [String: String]) -> String {
        let timestamp = time.iso8601WithFractionalSeconds
        let keys = fields.keys.sorted()
        switch format {
        case .json:
            var object: [String: JSONValue] = ["time": .string(timestamp), "level": .string(level.rawValue), "msg": .string(message)]
            for key in keys where object[key] == nil { object[key] = .string(fields[key]!) }
            return JSONValue.object(object).jsonText + "\n"
        case .logfmt:
            let pairs = ["time=\(timestamp)", "level=\(level.rawValue)", "msg=\(logfmtValue(message))"]
                + keys.map { "\(logfmtKey($0))=\(logfmtValue(fields[$0]!))" }
            return pairs.joined(separator: " ") + "\n"
        case .text:
            let rest = keys.filter { $0 != "label" }.map { "\($0)=\(fields[$0]!)" }.joined(separator: " ")
            let line = "\(timestamp) \(level.rawValue) \(fields["label"] ?? ""): \(message)\(rest.isEmpty ? "" : " " + rest)"
            // Foundation's replacingOccurrences was a sixteenth of a job read's CPU (the access log line):
            // lines without a newline, nearly all, are taken as they are.
            return (line.utf8.contains(UInt8(ascii: "\n")) ? line.replacingOccurrences(of: "\n", with: "\\n") : line) + "\n"
        }
    }

    static func logfmtKey(_ key: String) -> String {
        String(key.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" ? $0 : "_" })
    }

    static func logfmtValue(_ value: String) -> String {
        let plain = !value.isEmpty && value.allSatisfy { !$0.isWhitespace && $0 != "\"" && $0 != "=" && $0 != "\\" && !$0.isNewline }
        // A quoted logfmt value escapes like a JSON string.
        return plain ? value : JSONValue.quote(value)
    }
}
