import Foundation
import Synchronization
import Testing
@testable import HPCBridge

@Suite("Job service parts: cursor, log tail, rate limiter, submission records")
struct JobServicePartsTests {
    @Test("a cursor round-trips exactly, and anything else is refused")
    func cursor() throws {
        let cursor = JobCursor(createdAt: Date(timeIntervalSinceReferenceDate: 785_000_000.123456789), id: UUID())
        let token = cursor.token
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"))
        #expect(JobCursor(token: token) == cursor)
        for bad in ["", "garbage", "bm90IGEgY3Vyc29y", String(token.dropLast(3))] {
            #expect(JobCursor(token: bad) == nil, "\(bad)")
        }
    }

    @Test("a store call that does not answer within its deadline is a 503 to retry; the call's own error passes unchanged")
    func storeDeadline() async throws {
        let jobs = try TestService(scheduler: FakeScheduler()).assembly.service
        do {
            _ = try await jobs.storeCall(deadline: .milliseconds(100)) { _ in
                Thread.sleep(forTimeInterval: 1)
                return 1
            }
            Issue.record("a call past its deadline must be refused")
        } catch JobService.Refusal.unavailable(let detail, let wait) {
            #expect(detail.contains("did not answer within") && wait == 30, "\(detail)")
        }
        let id = UUID()
        await #expect(throws: JobStore.StoreError.notFound(id)) { try await jobs.storeCall { _ in throw JobStore.StoreError.notFound(id) } }
        #expect(try await jobs.storeCall { try $0.lastTransitionSequence() } == 0)
    }

    @Test("the log tail keeps the last lines, says when it cut, and reads only the end of a big file")
    func logTail() throws {
        let directory = try TestPaths.scratchDirectory("tail")
        #expect(LogTail(directory: directory, lines: 10) == LogTail(directory: directory, lines: 10))
        #expect(LogTail(directory: directory, lines: 10).stdout == "")
        try TestPaths.write("a\nb\nc", to: directory + "/stdout.log")
        let noFinalBreak = LogTail(directory: directory, lines: 2)
        #expect(noFinalBreak.stdout == "b\nc")
        #expect(noFinalBreak.truncated)
        #expect(LogTail(directory: directory, lines: 3).truncated == false)
        // 3 MB of numbered lines: only the last megabyte is read, and the tail is still exact.
        let big = (0..<300_000).map { String(format: "%09d", $0) }.joined(separator: "\n") + "\n"
        try TestPaths.write(big, to: directory + "/stderr.log")
        let tail = LogTail(directory: directory, lines: 3)
        #expect(tail.stderr == "000299997\n000299998\n000299999\n")
        #expect(tail.truncated)
        #expect(tail.stderrEnd == UInt64(big.utf8.count))
    }

    @Test("a follower started where the tail ended misses and repeats nothing, an unterminated line included")
    func tailThenFollow() throws {
        let directory = try TestPaths.scratchDirectory("tail-follow")
        let path = directory + "/stdout.log"
        try TestPaths.write("a\nb\npart", to: path)
        let tail = LogTail(directory: directory, lines: 10)
        #expect(tail.stdout == "a\nb\npart")
        #expect(tail.stdoutEnd == 4, "after the last newline; the unterminated line is the follower's")
        #expect(tail.stderrEnd == 0, "no stderr.log yet: a follower reads it from its start")
        // Written after the tail was read and before the follower starts: the follower still sees it.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("ial\nc\n".utf8))
        try handle.close()
        try TestPaths.write("late\n", to: directory + "/stderr.log")
        var out = LogFollower(path: path, offset: tail.stdoutEnd)
        var err = LogFollower(path: directory + "/stderr.log", offset: tail.stderrEnd)
        #expect(out.read() == ["partial", "c"])
        #expect(err.read() == ["late"])
        #expect(out.read(flush: true) == [])
    }

    @Test("the rate limiter admits per minute per group, names the wait, and takes refunds")
    func rateLimiter() {
        let limiter = SubmissionRateLimiter()
        let start = Date(timeIntervalSinceReferenceDate: 0)
        #expect(limiter.admit(group: "a", perMinute: 2, now: start) == nil)
        #expect(limiter.admit(group: "a", perMinute: 2, now: start.addingTimeInterval(10)) == nil)
        #expect(limiter.admit(group: "a", perMinute: 2, now: start.addingTimeInterval(20)) == 40)
        #expect(limiter.admit(group: "b", perMinute: 2, now: start.addingTimeInterval(20)) == nil, "groups are separate")
        limiter.refund(group: "a")
        #expect(limiter.admit(group: "a", perMinute: 2, now: start.addingTimeInterval(21)) == nil)
        #expect(limiter.admit(group: "a", perMinute: 2, now: start.addingTimeInterval(61)) == nil, "the window slides")
    }

    @Test("the rate limiter's window ages out from the front: a full window of a large quota counts right, and a refund takes the newest")
    func rateLimiterLargeWindow() {
        let limiter = SubmissionRateLimiter()
        let start = Date(timeIntervalSinceReferenceDate: 0)
        // 10,000 admissions spread over the first 50 s; the quota is full at the last one.
        for index in 0..<10_000 {
            #expect(limiter.admit(group: "a", perMinute: 10_000, now: start.addingTimeInterval(Double(index) * 0.005)) == nil)
        }
        #expect(limiter.admit(group: "a", perMinute: 10_000, now: start.addingTimeInterval(50)) == 10, "the oldest (at 0 s) leaves at 60 s")
        // At 60.5 s the first 101 times (0 s to 0.5 s) have aged out: 101 more are admitted, the next is not.
        for _ in 0..<101 { #expect(limiter.admit(group: "a", perMinute: 10_000, now: start.addingTimeInterval(60.5)) == nil) }
        #expect(limiter.admit(group: "a", perMinute: 10_000, now: start.addingTimeInterval(60.5)) != nil)
        limiter.refund(group: "a")
        #expect(limiter.admit(group: "a", perMinute: 10_000, now: start.addingTimeInterval(60.5)) == nil, "a refund frees one place")
        // Long after, the whole window has aged out.
        #expect(limiter.admit(group: "a", perMinute: 1, now: start.addingTimeInterval(500)) == nil)
        #expect(limiter.admit(group: "a", perMinute: 1, now: start.addingTimeInterval(500)) == 60)
    }

    @Test("planning resolves input paths off Swift's cooperative pool: submissions stuck on a hung input filesystem all wait at once and answer 503 at the planning deadline",
          .timeLimit(.minutes(1)))
    func hungInputFilesystem() async throws {
        let directory = try TestPaths.scratchDirectory()
        let store = try JobStore(path: directory + "/store.sqlite")
        let inside = Mutex(0)
        let gate = DispatchSemaphore(value: 0)
        // The shipped site with its run roots in scratch space, to see what the plans leave there.
        try TestPaths.write(try TestPaths.shippedConfig(scratch: directory), to: directory + "/hpcbridge.yaml")
        let site = try Site.load(configPath: directory + "/hpcbridge.yaml")
        let runRoot = try #require(site.config.groups["cancer_genomics_lab"]?.runRoot)
        var submitter = JobSubmitter(site: site, store: store, schedulers: [:])
        // A filesystem that does not answer until the test opens the gate.
        submitter.resolver = { path in
            inside.withLock { $0 += 1 }
            gate.wait()
            gate.signal()
            return path
        }
        submitter.planningDeadline = .milliseconds(500)
        let request = try TestSite.example("gatk_variant_calling")
        let stuck = 4
        let answers = Task {
            await withTaskGroup(of: String.self) { group in
                for _ in 0..<stuck {
                    group.addTask { [submitter] in
                        do {
                            _ = try await submitter.acceptAndPlan(request)
                            return "accepted"
                        } catch JobService.Refusal.unavailable(let detail, _) {
                            return detail
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        // On the cooperative pool (two threads here) at most two could ever be inside at once, and this
        // loop would not run while they were.
        for _ in 0..<400 where inside.withLock({ $0 }) < stuck { try await Task.sleep(for: .milliseconds(10)) }
        #expect(inside.withLock { $0 } == stuck)
        let results = await answers.value
        gate.signal()
        #expect(results.count == stuck)
        for result in results { #expect(result.contains("input filesystem hung"), "\(result)") }
        #expect(try store.jobs(JobStore.Filter()).jobs.isEmpty, "a request whose paths could not be checked stores nothing")
        // The plans go on once the filesystem answers, after their requests were answered 503: they
        // must leave no run directory behind.
        try await Task.sleep(for: .seconds(1))
        let left = (try? FileManager.default.contentsOfDirectory(atPath: runRoot)) ?? []
        #expect(left.isEmpty, "plans finished after their deadline left run directories: \(left)")
    }

    @Test("recording a submission: first writer wins, a cancelled job makes the scheduler job surplus")
    func recordSubmission() async throws {
        let directory = try TestPaths.scratchDirectory("record")
        let store = try JobStore(path: directory + "/store.sqlite")
        let fake = FakeScheduler()
        let submitter = JobSubmitter(site: TestSite.shipped, store: store, schedulers: ["dev": fake])
        let request = try TestSite.example("gatk_variant_calling")
        let (job, _) = try await submitter.accept(request)
        let now = Date()
        guard case .recorded(let queued) = try store.recordSubmission(job.id, native: "7", source: "submitter", reason: "test", at: now) else {
            Issue.record("the first submission must be recorded")
            return
        }
        #expect(queued.state == .queued && queued.nativeJobID == "7")
        #expect(try store.recordSubmission(job.id, native: "7", source: "recovery", reason: "test", at: now) == .alreadyRecorded(queued))
        guard case .surplus = try store.recordSubmission(job.id, native: "8", source: "recovery", reason: "test", at: now) else {
            Issue.record("a second native id for one job must be surplus")
            return
        }
        // Cancelled while the scheduler call ran: the submitter cancels what it just submitted.
        let (other, _) = try await submitter.accept(request)
        _ = try store.update(other.id, source: "api") { $0.state = .cancelled }
        let after = try await submitter.submit(other)
        #expect(after.state == .cancelled)
        #expect(after.nativeJobID == nil)
        let states = try await fake.states(changedSince: nil).jobs.values.map(\.status)
        #expect(states == [.failed(.cancelled)], "the surplus scheduler job was cancelled")
        #expect(try store.transitions(of: job.id).map(\.toState) == [.accepted, .queued])
    }
}
