import Foundation
import Synchronization

/// Runs an action when a deadline passes unless it is cancelled first: the deadlines of blocking calls
/// (`BlockingCallPool`) and of waits for the scheduler (`Deadline`), on one thread for the process.
///
/// Why not a task that sleeps per deadline: every blocking call and every wait made a timer task and a
/// waiter task, a submission five of each, and on Linux each `Task.sleep` is a dispatch timer that still
/// fires after it was cancelled (about a tenth of a submission's CPU in its profile went to tasks and
/// dispatch). Why not NIO's `scheduleTask`: it wakes its event loop on every schedule and every cancel.
/// Here a deadline is a lock and a heap push; the thread is woken only when a new deadline is earlier
/// than the one it sleeps until, and a cancelled deadline is dropped when it reaches the top of the heap,
/// so when nothing times out the thread wakes about once per the shortest deadline's length.
///
/// Times are CLOCK_MONOTONIC (the condition waits on the same clock): a wall-clock change neither fires
/// a deadline early nor holds it back.
public final class DeadlineTimer: @unchecked Sendable {
    /// The process's timer (its thread starts with the first deadline).
    public static let shared = DeadlineTimer(name: "hpcbridge-deadlines")

    /// One scheduled action; `cancel()` drops it if it has not run.
    public final class Scheduled: Sendable {
        fileprivate let due: UInt64
        private let action: Mutex<(@Sendable () -> Void)?>

        fileprivate init(due: UInt64, action: @escaping @Sendable () -> Void) {
            self.due = due
            self.action = Mutex(action)
        }

        /// Drops the action (and what it holds) unless it already ran.
        public func cancel() {
            _ = take()
        }

        fileprivate var isCancelled: Bool { action.withLock { $0 == nil } }

        fileprivate func take() -> (@Sendable () -> Void)? {
            action.withLock { action in
                defer { action = nil }
                return action
            }
        }
    }

    // Everything below is guarded by `mutex`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// A min-heap by due time.
    private var heap: [Scheduled] = []
    /// The due time the thread waits for; 0 while it is awake (it looks at the heap again before it
    /// waits, so a schedule need not wake it), `.max` while it waits for a first deadline.
    private var sleepingUntil: UInt64 = 0
    private var started = false
    private let name: String

    init(name: String) {
        self.name = name
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    /// Runs `action` on the timer's thread once `delay` has passed, unless the returned value is cancelled
    /// first. The action should be quick (resuming a continuation): the next deadline waits for it.
    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> Scheduled {
        let due = Self.now() &+ Self.nanoseconds(delay)
        let scheduled = Scheduled(due: due, action: action)
        pthread_mutex_lock(mutex)
        if !started {
            started = true
            let thread = Thread { [self] in run() }
            thread.name = name
            thread.start()
        }
        push(scheduled)
        let wake = due < sleepingUntil
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
        return scheduled
    }

    /// Deadlines not yet run or dropped (cancelled ones count until they reach the top of the heap).
    var pending: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return heap.count
    }

    private func run() {
        pthread_mutex_lock(mutex)
        while true {
            let now = Self.now()
            var due: [@Sendable () -> Void] = []
            while let top = heap.first {
                if top.isCancelled {
                    _ = pop()
                } else if top.due <= now {
                    if let action = pop().take() { due.append(action) }
                } else {
                    break
                }
            }
            if !due.isEmpty {
                pthread_mutex_unlock(mutex)
                for action in due { action() }
                pthread_mutex_lock(mutex)
                continue
            }
            if let next = heap.first?.due {
                sleepingUntil = next
                var until = timespec(tv_sec: Int(next / 1_000_000_000), tv_nsec: Int(next % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &until)
            } else {
                sleepingUntil = .max
                pthread_cond_wait(condition, mutex)
            }
            sleepingUntil = 0
        }
    }

    private func push(_ scheduled: Scheduled) {
        heap.append(scheduled)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].due < heap[parent].due else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func pop() -> Scheduled {
        let top = heap[0]
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].due < heap[smallest].due { smallest = left }
            if right < heap.count, heap[right].due < heap[smallest].due { smallest = right }
            guard smallest != parent else { return top }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
