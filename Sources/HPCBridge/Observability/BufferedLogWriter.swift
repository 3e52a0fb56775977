import Foundation
import Synchronization

/// Writes log lines from a thread of its own, in batches, so a request that logs pays for appending to
/// a buffer, not for a `write(2)` on standard error (in the read benchmark's profile one write per
/// request line was a seventh of the service's CPU).
///
/// Lines keep their order and stay whole, and reach standard error within a few milliseconds. When the reader of standard error falls behind (journald
/// throttling, a full pipe) and `capacity` bytes wait, further lines are dropped and counted, and a line
/// saying how many is written once there is room: logging never blocks a request. `flush()` waits
/// until everything buffered is written (at shutdown).
public final class BufferedLogWriter: Sendable {
    private struct Pending {
        var bytes: [UInt8] = []
        var dropped = 0
        var writing = false
    }

    private let descriptor: Int32
    private let capacity: Int
    private let pending = Mutex(Pending())
    private let wake = NSCondition()

    /// Standard error, with up to 8 MiB waiting.
    public static let standardError = BufferedLogWriter(descriptor: 2, capacity: 8 << 20)

    public init(descriptor: Int32, capacity: Int) {
        self.descriptor = descriptor
        self.capacity = capacity
        let thread = Thread { [self] in self.drain() }
        thread.name = "hpcbridge-log-writer"
        thread.start()
    }

    /// Queues a line (it should end with a newline).
    public func write(_ line: String) {
        // Only the first line into an empty buffer wakes the writer; the others ride along.
        let first = pending.withLock { pending -> Bool in
            guard pending.bytes.count + line.utf8.count <= capacity else {
                pending.dropped += 1
                return false
            }
            let wasEmpty = pending.bytes.isEmpty
            pending.bytes.append(contentsOf: line.utf8)
            return wasEmpty
        }
        if first {
            wake.lock()
            wake.signal()
            wake.unlock()
        }
    }

    /// Waits until every queued line is written.
    public func flush() {
        while pending.withLock({ !$0.bytes.isEmpty || $0.writing }) {
            wake.lock()
            wake.signal()
            wake.unlock()
            usleep(1000)
        }
    }

    private func drain() {
        while true {
            wake.lock()
            while pending.withLock({ $0.bytes.isEmpty }) { wake.wait() }
            wake.unlock()
            // Let the lines of a busy moment gather: one write per few milliseconds, not one per line.
            usleep(2000)
            var (batch, dropped) = pending.withLock { pending -> ([UInt8], Int) in
                defer {
                    pending.bytes = []
                    pending.dropped = 0
                    pending.writing = true
                }
                return (pending.bytes, pending.dropped)
            }
            if dropped > 0 { batch += Array("hpcbridge: \(dropped) log lines dropped: standard error did not keep up\n".utf8) }
            var offset = 0
            while offset < batch.count {
                let written = batch[offset...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    break
                }
                offset += written
            }
            pending.withLock { $0.writing = false }
        }
    }
}
