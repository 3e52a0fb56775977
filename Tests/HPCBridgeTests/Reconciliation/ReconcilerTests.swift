import Foundation
import Synchronization
import Testing
@testable import HPCBridge

@Suite("Reconciler with an in-memory scheduler")
struct ReconcilerTests {
    let store: JobStore
    let fake = FakeScheduler()
    let submitter: JobSubmitter
    let runRoot: String

    init() throws {
        let directory = try TestPaths.scratchDirectory("reconciler")
        store = try JobStore(path: directory + "/store.sqlite")
        runRoot = directory
        submitter = JobSubmitter(site: TestSite.shipped, store: store, schedulers: ["dev": fake])
    }

    func reconciler(exitFiles: [String: String] = [:], deadline: TimeInterval = 60) -> Reconciler {
        Reconciler(cluster: "dev", store: store, scheduler: fake, submitter: submitter,
                   resolver: VanishedJobResolver(exitFileDeadline: deadline) { exitFiles[$0] }, interval: .milliseconds(10), submissionGrace: 30)
    }

    /// A job accepted from the shipped example, with its run directory moved under scratch space.
    func accepted(now: Date = Date()) async throws -> Job {
        let request = try TestSite.example("gatk_variant_calling")
        let (job, _) = try await submitter.accept(request, now: now)
        var spec = try JobSubmitter.spec(of: job)
        spec.workingDirectory = runRoot + "/" + job.id.uuidString
        let intent = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        return try store.update(job.id, source: "test") { $0.intentJSON = intent }
    }

    @Test("a job is followed from submission to completion, one controller call per cycle")
    func lifecycle() async throws {
        let job = try await submitter.submit(try await accepted())
        #expect(job.state == .queued)
        let native = NativeJobID(try #require(job.nativeJobID))
        let r = reconciler()
        #expect(try await r.cycle().transitions == 0)
        await fake.set(native, .running)
        let report = try await r.cycle()
        #expect(report.transitions == 1)
        #expect(report.controllerCalls == 1)
        #expect(try store.job(job.id)?.state == .running)
        #expect(try store.job(job.id)?.startedAt != nil)
        await fake.set(native, .completed)
        try await r.cycle()
        let done = try #require(try store.job(job.id))
        #expect(done.state == .completed)
        #expect(done.exitCode == 0)
        #expect(try store.transitions(of: job.id).map(\.toState) == [.accepted, .queued, .running, .completed])
        #expect(await fake.statesCount == 3)
    }

    @Test("open jobs kept between cycles: a row written by another process, with or without a state change, is read again")
    func keptOpenJobs() async throws {
        let first = try await submitter.submit(try await accepted())
        let second = try await submitter.submit(try await accepted())
        let r = reconciler()
        #expect(try await r.cycle().transitions == 0)
        // Another process (its own store connection) cancels the first job and marks the second as
        // vanished, without a state change; then the controller reports both as running.
        let other = try JobStore(path: store.path)
        _ = try other.update(first.id, source: "other process") { $0.state = .cancelled; $0.finishedAt = Date() }
        let marked = Date(timeIntervalSinceReferenceDate: 800_000_000)
        _ = try other.update(second.id, source: "other process") { $0.vanishedAt = marked }
        await fake.set(NativeJobID(try #require(first.nativeJobID)), .running)
        await fake.set(NativeJobID(try #require(second.nativeJobID)), .running)
        let report = try await r.cycle()
        #expect(report.transitions == 1, "only the second job moves: the first one ended in the other process")
        #expect(try store.job(first.id)?.state == .cancelled)
        let moved = try #require(try store.job(second.id))
        #expect(moved.state == .running)
        #expect(moved.vanishedAt == nil, "the reconciler read the other process's write and cleared it once the job was seen again")
    }

    @Test("the store's change positions: every open job first, then exactly the rows written since")
    func jobChanges() async throws {
        let a = try await accepted(), b = try await accepted()
        let all = try await store.jobChanges(cluster: "dev", after: nil)
        #expect(Set(all.jobs.map(\.id)) == [a.id, b.id])
        let other = try JobStore(path: store.path)
        _ = try other.update(a.id, source: "other process") { $0.state = .cancelled }
        _ = try other.update(b.id, source: "other process") { $0.failureReason = "a note, no state change" }
        let since = try await store.jobChanges(cluster: "dev", after: all.through)
        #expect(since.through > all.through)
        #expect(Set(since.jobs.map(\.id)) == [a.id, b.id])
        #expect(since.jobs.first { $0.id == a.id }?.state == .cancelled)
        #expect(try await store.jobChanges(cluster: "dev", after: since.through).jobs.isEmpty)
        let c = try await accepted()
        #expect(try await store.jobChanges(cluster: "dev", after: since.through).jobs.map(\.id) == [c.id])
    }

    @Test("with nothing new in the store or the controller a cycle compares nothing, yet every change on either side is seen")
    func settledCycles() async throws {
        await fake.setIncremental(true)
        let job = try await submitter.submit(try await accepted())
        let native = NativeJobID(try #require(job.nativeJobID))
        let r = reconciler()
        #expect(try await r.cycle().transitions == 0)
        let idle = try await r.cycle()
        #expect(idle.transitions == 0)
        #expect(idle.controllerCalls == 1)
        // The controller changes.
        await fake.set(native, .running)
        #expect(try await r.cycle().transitions == 1)
        #expect(try store.job(job.id)?.state == .running)
        #expect(try await r.cycle().transitions == 0)
        // The store changes: an accepted job past its grace is submitted by the next cycle.
        let late = try await accepted(now: Date().addingTimeInterval(-60))
        #expect(try await r.cycle().submitted == 1)
        #expect(try store.job(late.id)?.state == .queued)
        #expect(try await r.cycle().transitions == 0)
        // A job ends and the controller forgets it: accounting answers.
        await fake.set(native, .completed)
        await fake.purge(native)
        let resolved = try await r.cycle()
        #expect(resolved.resolvedFromAccounting == 1)
        #expect(try store.job(job.id)?.state == .completed)
        // A cancel recorded in the store alone (an accepted job) is a store change like any other.
        let young = try await accepted()
        _ = try store.update(young.id, source: "api") { $0.state = .cancelled }
        #expect(try await r.cycle().transitions == 0)
        #expect(await fake.submitCount == 2)
        #expect(await fake.statesCount == 8)  // one controller call for each of the eight cycles
    }

    @Test("a job that ran and ended between two cycles still shows its start, at the scheduler's start time")
    func missedStart() async throws {
        let job = try await submitter.submit(try await accepted())
        let native = NativeJobID(try #require(job.nativeJobID))
        let r = reconciler()
        try await r.cycle()
        await fake.set(native, .failed(.nonZeroExit(code: 2)), exit: ProcessExit(code: 2))
        try await r.cycle()
        let transitions = try store.transitions(of: job.id)
        #expect(transitions.map(\.toState) == [.accepted, .queued, .running, .failed])
        let seen = try #require(try await fake.states(changedSince: nil).jobs[native])
        #expect(transitions[2].at == seen.startTime, "the start is recorded when it happened, not when it was noticed")
        #expect(try store.job(job.id)?.startedAt == seen.startTime)

        // Cancelled while pending: it never ran, so there is no start.
        let other = try await submitter.submit(try await accepted())
        let otherNative = NativeJobID(try #require(other.nativeJobID))
        try await r.cycle()
        try await fake.cancel(otherNative)
        try await r.cycle()
        #expect(try store.transitions(of: other.id).map(\.toState) == [.accepted, .queued, .cancelled])
    }

    @Test("failures keep their kind and exit code", arguments: [
        (SchedulerStatus.failed(.nonZeroExit(code: 3)), ProcessExit(code: 3), JobState.failed, "non_zero_exit"),
        (.failed(.timeout), ProcessExit(code: 0, signal: 15), .failed, "timeout"),
        (.failed(.outOfMemory), ProcessExit(code: 0, signal: 125), .failed, "out_of_memory"),
        (.failed(.cancelled), ProcessExit.success, .cancelled, "cancelled"),
        (.failed(.dependencyNeverSatisfied), ProcessExit.success, .failed, "dependency_failed"),
    ])
    func failures(status: SchedulerStatus, exit: ProcessExit, state: JobState, kind: String) async throws {
        let job = try await submitter.submit(try await accepted())
        await fake.set(NativeJobID(job.nativeJobID!), status, exit: exit)
        try await reconciler().cycle()
        let stored = try #require(try store.job(job.id))
        #expect(stored.state == state)
        #expect(stored.failureKind == kind)
        #expect(stored.failureReason?.isEmpty == false)
    }

    @Test("after a crash between accepting and submitting, the scheduler's job is adopted, never submitted twice")
    func adoption() async throws {
        let job = try await accepted()
        let native = await fake.inject(tag: job.id, status: .running)
        let report = try await reconciler().cycle()
        #expect(report.adopted == 1)
        #expect(await fake.submitCount == 0)
        let stored = try #require(try store.job(job.id))
        #expect(stored.nativeJobID == native.rawValue)
        #expect(stored.state == .running)
    }

    @Test("after a crash, an array's records (all carrying the job's tag) are adopted as one submission, by the array's id")
    func arrayAdoption() async throws {
        let job = try await accepted()
        // Tasks 0 and 1 split off and running, 2-5 still pending in the meta record, as Slurm lists them.
        let array = await fake.injectArray(tag: job.id, running: [0, 1], pending: try JobArray(indices: [2...5], maxRunning: 2))
        let report = try await reconciler().cycle()
        #expect(report.adopted == 1)
        #expect(await fake.submitCount == 0)
        #expect(await fake.cancelled.isEmpty, "no task taken for a duplicate submission and cancelled")
        let stored = try #require(try store.job(job.id))
        #expect(stored.nativeJobID == array.rawValue)
        #expect(stored.state == .queued)
        #expect(try store.transitions(of: job.id).last?.reason?.contains("adopted scheduler job \(array)") == true)
    }

    @Test("after a crash, an array whose pending record is gone (tasks all split off) is still adopted by the array's id")
    func arrayAdoptionAllSplit() async throws {
        let job = try await accepted()
        let array = await fake.injectArray(tag: job.id, running: [0, 1, 2], pending: nil)
        #expect(try await reconciler().cycle().adopted == 1)
        #expect(await fake.submitCount == 0)
        #expect(try store.job(job.id)?.nativeJobID == array.rawValue)
        #expect(try store.job(job.id)?.state == .running)
    }

    @Test("a job submitted before a crash that finished and left the controller is found in accounting, not resubmitted")
    func adoptionFromAccounting() async throws {
        let job = try await accepted(now: Date().addingTimeInterval(-3600))
        let native = await fake.injectFinished(tag: job.id, status: .failed(.nonZeroExit(code: 2)), exit: ProcessExit(code: 2))
        let report = try await reconciler().cycle()
        #expect(report.adopted == 1)
        #expect(report.submitted == 0)
        #expect(await fake.submitCount == 0)
        let stored = try #require(try store.job(job.id))
        #expect(stored.nativeJobID == native.rawValue)
        #expect(stored.state == .failed)
        #expect(stored.exitCode == 2)
    }

    @Test("an accepted job the scheduler never saw is submitted once, after the grace period")
    func recoverySubmit() async throws {
        let job = try await accepted(now: Date().addingTimeInterval(-60))
        let fresh = try await accepted()
        let r = reconciler()
        #expect(try await r.cycle().submitted == 1)
        #expect(try await r.cycle().submitted == 0)
        #expect(await fake.submitCount == 1)
        #expect(try store.job(job.id)?.state == .queued)
        #expect(try store.job(fresh.id)?.state == .accepted)
    }

    @Test("a controller outage fails no job; the job is submitted when the controller is back")
    func outage() async throws {
        await fake.setDown(true)
        let job = try await submitter.submit(try await accepted(now: Date().addingTimeInterval(-60)))
        #expect(job.state == .accepted)
        let r = reconciler()
        await #expect(throws: SchedulerError.self) { try await r.cycle() }
        #expect(try store.job(job.id)?.state == .accepted)
        await fake.setDown(false)
        #expect(try await r.cycle().submitted == 1)
        #expect(try store.job(job.id)?.state == .queued)
    }

    @Test("a requeue returns the job to the queue and is counted, not failed")
    func requeue() async throws {
        let job = try await submitter.submit(try await accepted())
        let native = NativeJobID(job.nativeJobID!)
        let r = reconciler()
        await fake.set(native, .running)
        try await r.cycle()
        await fake.set(native, .queued(reason: "BeginTime"), restarts: 1)
        #expect(try await r.cycle().requeued == 1)
        let stored = try #require(try store.job(job.id))
        #expect(stored.state == .queued)
        #expect(stored.requeueCount == 1)
    }

    @Test("vanished jobs: accounting first, then the exit-code file, then lost after the deadline")
    func vanished() async throws {
        let a = try await submitter.submit(try await accepted())
        let b = try await submitter.submit(try await accepted())
        let c = try await submitter.submit(try await accepted())
        let bExit = try JobSubmitter.spec(of: b).workingDirectory + "/" + ScriptRenderer.exitCodeFile
        let r = reconciler(exitFiles: [bExit: "0\n"], deadline: 60)
        for job in [a, b, c] { await fake.set(NativeJobID(job.nativeJobID!), .running) }
        try await r.cycle()
        await fake.set(NativeJobID(a.nativeJobID!), .failed(.nonZeroExit(code: 3)), exit: ProcessExit(code: 3))
        for job in [a, b, c] { await fake.purge(NativeJobID(job.nativeJobID!)) }
        let first = try await r.cycle()
        #expect(first.resolvedFromAccounting == 1)
        #expect(first.resolvedFromExitFile == 1)
        #expect(try store.job(a.id)?.state == .failed)
        #expect(try store.job(a.id)?.exitCode == 3)
        #expect(try store.job(b.id)?.state == .completed)
        #expect(try store.job(c.id)?.state == .running)
        #expect(try store.job(c.id)?.vanishedAt != nil)
        let later = try await r.cycle(now: Date().addingTimeInterval(120))
        #expect(later.lost == 1)
        let lost = try #require(try store.job(c.id))
        #expect(lost.state == .lost)
        #expect(lost.failureReason?.contains("no exit-code file") == true)
    }

    @Test("an exit-code file on a hung filesystem: the cycle ends at the read deadline with the job pending, the next cycle does not read again while that read hangs, and once it returns the file decides",
          .timeLimit(.minutes(1)))
    func vanishedOnHungFilesystem() async throws {
        let job = try await submitter.submit(try await accepted())
        let exitPath = try JobSubmitter.spec(of: job).workingDirectory + "/" + ScriptRenderer.exitCodeFile
        let gate = DispatchSemaphore(value: 0)
        let reads = Mutex(0)
        let resolver = VanishedJobResolver(exitFileDeadline: 600, readDeadline: .milliseconds(300)) { path in
            reads.withLock { $0 += 1 }
            gate.wait()
            gate.signal()
            return path == exitPath ? "0\n" : nil
        }
        let r = Reconciler(cluster: "dev", store: store, scheduler: fake, submitter: submitter, resolver: resolver,
                           interval: .milliseconds(10), submissionGrace: 30)
        await fake.set(NativeJobID(job.nativeJobID!), .running)
        try await r.cycle()
        await fake.purge(NativeJobID(job.nativeJobID!))
        let hung = try await r.cycle()
        #expect(hung.resolvedFromExitFile == 0 && hung.lost == 0)
        #expect(try store.job(job.id)?.state == .running)
        #expect(try store.job(job.id)?.vanishedAt != nil, "pending: the file may still appear")
        try await Task.sleep(for: .seconds(1.2))  // past the guard's patience: the first read counts as hung
        _ = try await r.cycle()
        #expect(reads.withLock { $0 } == 1, "no second read joins a hung one")
        gate.signal()
        for _ in 0..<100 where try store.job(job.id)?.state != .completed {
            try await Task.sleep(for: .milliseconds(50))
            _ = try await r.cycle()
        }
        #expect(try store.job(job.id)?.state == .completed)
    }
}
