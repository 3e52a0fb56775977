import Foundation

/// Reads what was appended to a log file since the last read, line by line; a line still being
/// written (no newline yet) waits for the next read, unless the caller flushes at the end.
public struct LogFollower: Sendable {
    public let path: String
    private var offset: UInt64
    private var partial = Data()

    /// Starts at the current end of the file (0 when it does not exist yet).
    public init(path: String) {
        self.init(path: path, offset: (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0)
    }

    /// Starts at `offset`: where a `LogTail` of the same file ended, so nothing written in between is lost.
    public init(path: String, offset: UInt64) {
        self.path = path
        self.offset = offset
    }

    /// The complete lines appended since the last call; with `flush`, also an unterminated last line.
    public mutating func read(flush: Bool = false) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        if size < offset { offset = 0 }  // truncated or replaced: start over
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        offset += UInt64(data.count)
        partial.append(data)
        var lines: [String] = []
        while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
            partial = Data(partial[partial.index(after: newline)...])
        }
        if flush, !partial.isEmpty {
            lines.append(String(decoding: partial, as: UTF8.self))
            partial = Data()
        }
        return lines
    }
}
