import GRDB

extension Database {
    /// Runs `body` with this connection's commits written to the WAL but not flushed
    /// (`synchronous = NORMAL`), then sets the writer back to FULL, the store's setting (see `JobStore`).
    /// For writes that need not survive a crash of the node: the next flushed commit takes them along.
    func withUnflushedCommits<T>(_ body: () throws -> T) rethrows -> T {
        try? execute(sql: "PRAGMA synchronous = NORMAL")
        defer { try? execute(sql: "PRAGMA synchronous = FULL") }
        return try body()
    }
}
