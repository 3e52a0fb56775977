import Foundation
import Synchronization
import Testing
@testable import HPCBridge

/// The API's submissions in a row on a lane thread (`SubmissionLane`), against a scheduler whose
/// submission blocks the caller's thread as libslurm's does: the answer, a held call, the bound on
/// lanes inside the scheduler, and a hung input filesystem.
@Suite("Submission lanes")
struct SubmissionLaneTests {
    @Test("a blocking submission runs on a lane thread, not Swift's pool; the answer is the queued job with its history")
    func inline() async throws {
        let scheduler = BlockingFakeScheduler()
        let service = try TestService(scheduler: scheduler)
        let (job, created, transitions) = try await service.assembly.service.submit(try TestSite.example("gatk_variant_calling"),
                                                                                    by: .group("cancer_genomics_lab"), idempotencyKey: nil)
        #expect(created && job.state == .queued && job.nativeJobID != nil)
        #expect(transitions.map(\.toState) == [.accepted, .queued], "\(transitions)")
        #expect(scheduler.calls.withLock { $0 } == .init(blocking: 1, staged: 0))
        let thread = try #require(scheduler.threads.withLock { $0.first })
        #expect(thread.hasPrefix("TP-#"), "the blocking call ran on \(thread)")
        let runDirectory = try #require(JobSubmitter.runDirectory(of: job))
        #expect(FileManager.default.fileExists(atPath: runDirectory), "the lane made the run directory before the call")
        #expect(try service.store.job(job.id)?.nativeJobID == job.nativeJobID)
    }

    @Test("a held blocking call: answered accepted at schedulerWait, recorded once when the controller answers, never submitted again meanwhile")
    func held() async throws {
        let scheduler = BlockingFakeScheduler()
        let service = try TestService(scheduler: scheduler, submissionGrace: 0, schedulerWait: .milliseconds(200))
        await scheduler.fake.setHoldSubmissions(true)
        // The call is held until the test lets go: an answer at all means it did not wait for the call.
        let (job, created, transitions) = try await service.assembly.service.submit(try TestSite.example("gatk_variant_calling"),
                                                                                    by: .group("cancer_genomics_lab"), idempotencyKey: nil)
        #expect(created && job.state == .accepted && job.nativeJobID == nil)
        #expect(transitions.map(\.toState) == [.accepted])
        #expect(await scheduler.fake.submissionsWaiting == 1)
        for _ in 0..<3 { _ = try await service.reconciler.cycle() }
        #expect(await scheduler.fake.submissionsWaiting == 1, "the reconciler leaves a call in flight alone")
        await scheduler.fake.setHoldSubmissions(false)
        let deadline = Date().addingTimeInterval(10)
        while try service.store.job(job.id)?.nativeJobID == nil, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try service.store.job(job.id)?.state == .queued, "the late answer is recorded")
        for _ in 0..<2 { _ = try await service.reconciler.cycle() }
        #expect(await scheduler.fake.submitCount == 1, "in the scheduler once")
    }

    @Test("with every inline slot held by a hung call, the next submission is handed to the scheduler's pool; all are recorded once",
          .timeLimit(.minutes(1)))
    func slots() async throws {
        let scheduler = BlockingFakeScheduler()
        let service = try TestService(scheduler: scheduler, submissionGrace: 0, schedulerWait: .milliseconds(200))
        await scheduler.fake.setHoldSubmissions(true)
        let jobs = service.assembly.service
        var ids: [UUID] = []
        for n in 0...SubmissionLane.inlineSchedulerCalls {
            var request = try TestSite.example("gatk_variant_calling")
            request.description = "lane \(n)"
            let (job, _, _) = try await jobs.submit(request, by: .group("cancer_genomics_lab"), idempotencyKey: nil)
            #expect(job.state == .accepted)
            ids.append(job.id)
            // Each call reaches the held scheduler before the next submission starts.
            let reached = Date().addingTimeInterval(10)
            while await scheduler.fake.submissionsWaiting < n + 1, Date() < reached { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(scheduler.calls.withLock { $0 } == .init(blocking: SubmissionLane.inlineSchedulerCalls, staged: 1))
        await scheduler.fake.setHoldSubmissions(false)
        let deadline = Date().addingTimeInterval(10)
        while try ids.contains(where: { try service.store.job($0)?.nativeJobID == nil }), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        for id in ids { #expect(try service.store.job(id)?.state == .queued) }
        #expect(await scheduler.fake.submitCount == ids.count)
    }

    @Test("a hung input filesystem: submissions answer 503 at the planning deadline, all waiting at once; nothing is stored and no run directory is left",
          .timeLimit(.minutes(1)))
    func hungInputFilesystem() async throws {
        let scheduler = BlockingFakeScheduler()
        let service = try TestService(scheduler: scheduler)
        let inside = Mutex(0)
        let gate = DispatchSemaphore(value: 0)
        var submitter = service.assembly.service.submitter
        submitter.resolver = { path in
            inside.withLock { $0 += 1 }
            gate.wait()
            gate.signal()
            return path
        }
        submitter.planningDeadline = .milliseconds(500)
        let jobs = JobService(store: service.store, submitter: submitter, reconcilers: [:])
        let runRoot = try #require(service.site.config.groups["cancer_genomics_lab"]?.runRoot)
        let request = try TestSite.example("gatk_variant_calling")
        let stuck = 4
        let results = await withTaskGroup(of: String.self) { group in
            for _ in 0..<stuck {
                group.addTask {
                    do {
                        _ = try await jobs.submit(request, by: .group("cancer_genomics_lab"), idempotencyKey: nil)
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
        #expect(inside.withLock { $0 } == stuck, "every plan was inside the filesystem at once")
        for result in results { #expect(result.contains("input filesystem hung"), "\(result)") }
        gate.signal()
        // The plans go on once the filesystem answers: they must store nothing and make no directory.
        try await Task.sleep(for: .seconds(1))
        #expect(try service.store.jobs(JobStore.Filter()).jobs.isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: runRoot)) ?? []).isEmpty)
        #expect(scheduler.calls.withLock { $0 } == .init(blocking: 0, staged: 0))
    }
}

/// `FakeScheduler` with a blocking submission, as libslurm's: the call waits on the caller's thread for
/// the fake's own (so a held fake holds the lane's thread). Counts which path each submission took and
/// names the threads the blocking calls ran on.
final class BlockingFakeScheduler: BatchScheduler {
    struct Calls: Equatable { var blocking = 0, staged = 0 }
    let fake = FakeScheduler()
    let calls = Mutex(Calls())
    let threads = Mutex<[String]>([])
    var path: String { fake.path }

    var blockingSubmit: (@Sendable (BatchJobSpec) throws -> NativeJobID)? {
        { [self] job in
            calls.withLock { $0.blocking += 1 }
            threads.withLock { $0.append(Thread.current.name ?? "unnamed") }
            let done = DispatchSemaphore(value: 0)
            let result = Mutex<Result<NativeJobID, any Error>?>(nil)
            Task {
                do {
                    let id = try await fake.submit(job)
                    result.withLock { $0 = .success(id) }
                } catch {
                    result.withLock { $0 = .failure(error) }
                }
                done.signal()
            }
            done.wait()
            return try result.withLock { $0 }!.get()
        }
    }

    func submit(_ job: BatchJobSpec) async throws -> NativeJobID {
        calls.withLock { $0.staged += 1 }
        return try await fake.submit(job)
    }

    func cancel(_ ids: [NativeJobID]) async throws { try await fake.cancel(ids) }
    func limits() async throws -> SchedulerLimits { try await fake.limits() }
    func states(changedSince: Date?) async throws -> SchedulerSnapshot { try await fake.states(changedSince: changedSince) }
    func accountingStates(for ids: [NativeJobID], since: Date) async throws -> [NativeJobID: SchedulerJobState] {
        try await fake.accountingStates(for: ids, since: since)
    }
    func accountingJobs(tagged tags: Set<UUID>, since: Date) async throws -> [UUID: SchedulerJobState] {
        try await fake.accountingJobs(tagged: tags, since: since)
    }
}
