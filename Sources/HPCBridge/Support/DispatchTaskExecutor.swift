import Dispatch

/// A task executor on a dispatch queue of its own, for the few tasks whose timing must not depend on
/// Swift's cooperative pool: the leader lease's checks. The pool has one thread per core; anything that
/// blocks one (a library call, a slow filesystem) would delay a leader's check past its deadline and make
/// it step down for nothing. A serial queue targets dispatch's overcommitting threads, which grow when
/// others block.
public final class DispatchTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        queue.async { unowned.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
