import Foundation
import Synchronization
import Testing
@testable import HPCBridge

/// The pieces that keep blocking work off Swift's cooperative threads: the thread pool with its bounds
/// and deadlines, waiting for a task without waiting for it to end, the record of submissions whose
/// outcome is unknown, and the guard that keeps one hung log directory from taking every reader.
@Suite("Blocking work: pools, deadlines, unanswered submissions, hung log reads")
struct BlockingWorkTests {
    /// A gate a blocking call waits at until the test opens it (a hung controller or mount).
    final class Gate: Sendable {
        private let condition = NSCondition()
        private let opened = Mutex(false)
        func wait() {
            condition.lock()
            while !opened.withLock({ $0 }) { condition.wait() }
            condition.unlock()
        }
        func open() {
            condition.lock()
            opened.withLock { $0 = true }
            condition.broadcast()
            condition.unlock()
        }
    }

    @Test("a call that blocks times out for its caller at the deadline, holds its thread until it returns, and a full pool refuses at once")
    func poolBounds() async throws {
        let pool = BlockingCallPool(name: "test", threads: 2, maximumInFlight: 2)
        let gate = Gate()
        // The gate stays closed until the end: a caller that gets an answer before then did not wait
        // for its blocked call (no wall-clock check, which the full suite's load would make flaky).
        for _ in 0..<2 {
            await #expect(throws: BlockingCallPool.TimedOut.self) {
                try await pool.run(deadline: .milliseconds(100)) { gate.wait() }
            }
        }
        #expect(pool.callsInFlight == 2, "both calls still hold their threads")
        await #expect(throws: BlockingCallPool.Saturated.self, "a full pool refuses instead of queuing") { try await pool.run(deadline: .seconds(600)) { 1 } }
        gate.open()
        let deadline = Date().addingTimeInterval(5)
        while pool.callsInFlight > 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(pool.callsInFlight == 0)
        #expect(try await pool.run(deadline: .seconds(5)) { 41 + 1 } == 42)
    }

    @Test("a call waiting for a thread when its caller gives up is dropped, not run later")
    func queuedCallDropped() async throws {
        let pool = BlockingCallPool(name: "test", threads: 1, maximumInFlight: 4)
        let gate = Gate()
        let ran = Mutex(false)
        await #expect(throws: BlockingCallPool.TimedOut.self) { try await pool.run(deadline: .milliseconds(50)) { gate.wait() } }
        await #expect(throws: BlockingCallPool.TimedOut.self) { try await pool.run(deadline: .milliseconds(50)) { ran.withLock { $0 = true } } }
        gate.open()
        try await Task.sleep(for: .milliseconds(200))
        #expect(!ran.withLock { $0 }, "the queued call never started")
    }

    @Test("Deadline: a value ready in time, nil after the limit while the work goes on, an error passed on")
    func deadline() async throws {
        // The limit runs on the timer's own thread while the work needs a cooperative thread to end; at
        // the start of the full suite every test is queued on those for 20 s or more, so the "in time"
        // cases get a limit no such wait reaches.
        #expect(try await Deadline.valueIfReady(within: .seconds(600)) { 7 } == 7)
        let finished = Mutex(false)
        let gate = Gate()
        #expect(try await Deadline.valueIfReady(within: .milliseconds(20)) { () async throws -> Int in
            // Blocks its thread until the test has seen the nil: the answer cannot have waited for it.
            try await BlockingCallPool(name: "test", threads: 1, maximumInFlight: 1).run(deadline: .seconds(600)) { gate.wait() }
            finished.withLock { $0 = true }
            return 8
        } == nil)
        #expect(!finished.withLock { $0 })
        gate.open()
        #expect(try await Self.eventually { finished.withLock { $0 } }, "the work was not cancelled by the caller's deadline")
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await Deadline.valueIfReady(within: .seconds(600)) { () async throws -> Int in throw Boom() } }
    }

    /// Waits (up to a generous limit, so a loaded machine cannot fail it) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        let limit = Date().addingTimeInterval(10)
        while !condition() {
            guard Date() < limit else { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    @Test("DeadlineTimer: actions run in due order; a cancelled one never runs and is dropped from the heap")
    func timerOrderAndCancel() async throws {
        let timer = DeadlineTimer(name: "test-deadlines")
        let fired = Mutex<[Int]>([])
        // Scheduled out of order; each action records its delay.
        var cancelled: [DeadlineTimer.Scheduled] = []
        for delay in [60, 20, 80, 40, 10, 70, 30, 50] {
            let scheduled = timer.schedule(after: .milliseconds(delay)) { fired.withLock { $0.append(delay) } }
            if delay == 40 || delay == 70 { cancelled.append(scheduled) }
        }
        for scheduled in cancelled { scheduled.cancel() }
        #expect(try await Self.eventually { fired.withLock { $0.count } == 6 })
        // The last action is due after both cancelled ones: had they run, they would be in the list.
        #expect(fired.withLock { $0 } == [10, 20, 30, 50, 60, 80])
        #expect(try await Self.eventually { timer.pending == 0 }, "the cancelled entries left the heap")
    }

    @Test("DeadlineTimer: a deadline earlier than the one the thread sleeps until wakes it")
    func timerEarlierDeadlineWakes() async throws {
        let timer = DeadlineTimer(name: "test-deadlines")
        let late = Mutex(false), early = Mutex(false)
        let far = timer.schedule(after: .seconds(3600)) { late.withLock { $0 = true } }
        // Let the thread go to sleep until the far deadline first.
        try await Task.sleep(for: .milliseconds(50))
        timer.schedule(after: .milliseconds(10)) { early.withLock { $0 = true } }
        #expect(try await Self.eventually { early.withLock { $0 } }, "the near deadline ran without waiting an hour")
        #expect(!late.withLock { $0 })
        far.cancel()
        #expect(timer.pending == 1, "a cancelled entry stays until it reaches the top of the heap")
    }

    @Test("SubmissionAttempts: in flight blocks resubmission; an unanswered call needs two later snapshots without the job")
    func attempts() {
        let attempts = SubmissionAttempts()
        let id = UUID()
        let t0 = Date(timeIntervalSince1970: 1000)
        #expect(attempts.mayResubmit(id, absentFromSnapshotStartedAt: t0), "never attempted: the reconciler may submit")
        #expect(attempts.begin(id))
        #expect(!attempts.begin(id), "one call at a time per job")
        #expect(attempts.isInFlight(id))
        #expect(!attempts.mayResubmit(id, absentFromSnapshotStartedAt: t0.addingTimeInterval(60)))
        attempts.unanswered(id, at: t0.addingTimeInterval(10))
        #expect(!attempts.mayResubmit(id, absentFromSnapshotStartedAt: t0.addingTimeInterval(5)), "a snapshot asked for before the call ended proves nothing")
        #expect(!attempts.mayResubmit(id, absentFromSnapshotStartedAt: t0.addingTimeInterval(15)), "one absence is not enough")
        #expect(attempts.mayResubmit(id, absentFromSnapshotStartedAt: t0.addingTimeInterval(20)), "the second absence is")
        attempts.settled(id)
        #expect(attempts.mayResubmit(id, absentFromSnapshotStartedAt: t0))
    }

    @Test("LogReadGuard: a directory counts as hung once a read there has run its patience; other directories do not")
    func logGuard() {
        let guarding = LogReadGuard(patience: 1)
        let t0 = Date(timeIntervalSince1970: 1000)
        let token = guarding.begin("/runs/a", now: t0)
        #expect(guarding.hungFor("/runs/a", now: t0.addingTimeInterval(0.5)) == nil)
        #expect(guarding.hungFor("/runs/a", now: t0.addingTimeInterval(2)) == 2)
        #expect(guarding.hungFor("/runs/b", now: t0.addingTimeInterval(2)) == nil)
        guarding.end("/runs/a", token)
        #expect(guarding.hungFor("/runs/a", now: t0.addingTimeInterval(3)) == nil)
    }
}
