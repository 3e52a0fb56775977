import Foundation

/// The last lines of a job's `stdout.log` and `stderr.log`, read from the end of each file so a
/// multi-gigabyte log costs no more than its tail.
public struct LogTail: Sendable, Equatable {
    public let stdout: String
    public let stderr: String
    /// True when either stream had more lines than were returned.
    public let truncated: Bool

    /// At most this much of each file is read, whatever `lines` asks for.
    public static let maximumBytes = 1 << 20

    public init(directory: String, lines: Int) {
        let out = Self.tail(path: directory + "/" + ScriptRenderer.stdoutFile, lines: lines)
        let err = Self.tail(path: directory + "/" + ScriptRenderer.stderrFile, lines: lines)
        stdout = out.text
        stderr = err.text
        truncated = out.truncated || err.truncated
    }

    /// The last `lines` lines of a file ("" when it does not exist yet).
    static func tail(path: String, lines: Int) -> (text: String, truncated: Bool) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ("", false) }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let start = size > UInt64(maximumBytes) ? size - UInt64(maximumBytes) : 0
        try? handle.seek(toOffset: start)
        let data = (try? handle.readToEnd()) ?? Data()
        var text = String(decoding: data, as: UTF8.self)
        var cut = start > 0
        if cut, let firstBreak = text.firstIndex(of: "\n") { text = String(text[text.index(after: firstBreak)...]) }
        let endsWithBreak = text.hasSuffix("\n")
        var all = text.split(separator: "\n", omittingEmptySubsequences: false)
        if endsWithBreak { all.removeLast() }
        if all.count > lines {
            all = all.suffix(lines)
            cut = true
        }
        let joined = all.joined(separator: "\n") + (endsWithBreak && !all.isEmpty ? "\n" : "")
        return (joined, cut)
    }
}
