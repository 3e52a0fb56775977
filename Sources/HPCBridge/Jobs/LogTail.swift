import Foundation

/// The last lines of a job's `stdout.log` and `stderr.log`, read from the end of each file so a
/// multi-gigabyte log costs no more than its tail.
public struct LogTail: Sendable, Equatable {
    public let stdout: String
    public let stderr: String
    /// True when either stream had more lines than were returned.
    public let truncated: Bool
    /// Where the complete lines of each tail end in their file (an unterminated last line lies after
    /// it): a `LogFollower` that starts there neither misses nor repeats a line written meanwhile.
    public let stdoutEnd: UInt64
    public let stderrEnd: UInt64

    /// At most this much of each file is read, whatever `lines` asks for.
    public static let maximumBytes = 1 << 20

    public init(directory: String, lines: Int) {
        self.init(stdoutPath: directory + "/" + ScriptRenderer.stdoutFile, stderrPath: directory + "/" + ScriptRenderer.stderrFile, lines: lines)
    }

    /// The tails of two named files (an array task's logs are named after its index).
    public init(stdoutPath: String, stderrPath: String, lines: Int) {
        let out = Self.tail(path: stdoutPath, lines: lines)
        let err = Self.tail(path: stderrPath, lines: lines)
        stdout = out.text
        stderr = err.text
        truncated = out.truncated || err.truncated
        stdoutEnd = out.completeEnd
        stderrEnd = err.completeEnd
    }

    /// The last `lines` lines of a file ("" when it does not exist yet), read up to the size the file
    /// had when opened (it may grow meanwhile), and the offset just after its last newline.
    static func tail(path: String, lines: Int) -> (text: String, truncated: Bool, completeEnd: UInt64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ("", false, 0) }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let start = size > UInt64(maximumBytes) ? size - UInt64(maximumBytes) : 0
        try? handle.seek(toOffset: start)
        let data = (try? handle.read(upToCount: Int(size - start))) ?? Data()
        let completeEnd = start + UInt64(data.lastIndex(of: UInt8(ascii: "\n")).map { data.distance(from: data.startIndex, to: $0) + 1 } ?? 0)
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
        return (joined, cut, completeEnd)
    }
}
