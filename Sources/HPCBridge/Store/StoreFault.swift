import GRDB

/// Failures of the job store's medium rather than of a request: the disk is full, the file system is
/// read-only, the file is damaged or held by another process. A write that meets one is refused with
/// 503 and Retry-After, so the client knows nothing was stored and tries again; it is never lost
/// silently, and readiness reports the store until the fault is gone.
public enum StoreFault {
    /// What is wrong with the store, in words for the client and the log, or `nil` when the error is
    /// not a store fault (a bug, which stays a 500).
    public static func describe(_ error: any Error) -> String? {
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode {
        case .SQLITE_FULL: return "the disk that holds the job store is full"
        case .SQLITE_READONLY: return "the job store is read-only (its file system is mounted read-only, or its permissions changed)"
        case .SQLITE_IOERR: return "the disk that holds the job store reported an I/O error"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: return "the job store file is damaged"
        case .SQLITE_CANTOPEN: return "the job store file cannot be opened"
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "the job store is locked by another process"
        default: return nil
        }
    }
}
