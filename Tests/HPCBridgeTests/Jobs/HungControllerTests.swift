import Foundation
import Testing
@testable import HPCBridge

/// A controller that takes a submission and does not answer, in process: the request is answered
/// after `schedulerWait` with the job accepted, the reconciler leaves the call in flight alone, and the
/// answer, when it comes, is recorded; the job is in the scheduler once.
@Suite("A hung controller, in process")
struct HungControllerTests {
    @Test("a submission answers after schedulerWait with the job accepted; no second submission while the call hangs; recorded when it returns")
    func hungSubmission() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake, submissionGrace: 0, schedulerWait: .milliseconds(200))
        let jobs = service.assembly.service
        await fake.setHoldSubmissions(true)
        let (job, created, _) = try await jobs.submit(try TestSite.example("gatk_variant_calling"), by: .group("cancer_genomics_lab"), idempotencyKey: nil)
        #expect(created && job.state == .accepted && job.nativeJobID == nil)
        #expect(await fake.submitCount == 0, "answered while the scheduler has not taken the job")
        // The background submission reaches the held scheduler (under the full suite's load it may
        // start after the answer went out); the reconciler must leave that call alone.
        let reached = Date().addingTimeInterval(30)
        while await fake.submissionsWaiting == 0, Date() < reached { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await fake.submissionsWaiting == 1)
        for _ in 0..<3 { _ = try await service.reconciler.cycle() }
        #expect(await fake.submissionsWaiting == 1, "the reconciler does not submit a job whose call is in flight")
        #expect(await fake.submitCount == 0)
        await fake.setHoldSubmissions(false)
        let deadline = Date().addingTimeInterval(5)
        while try service.store.job(job.id)?.nativeJobID == nil, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try service.store.job(job.id)?.state == .queued, "the late answer is recorded")
        for _ in 0..<2 { _ = try await service.reconciler.cycle() }
        #expect(await fake.submitCount == 1, "in the scheduler once")
    }

    @Test("a reconciler query unanswered past hungAfter makes the controller count as down: readiness fails and submissions are left to the reconciler")
    func hungQuery() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        _ = try await service.reconciler.cycle()
        #expect(await service.reconciler.health().reachable)
        await fake.setHoldQueries(true)
        let reconciler = service.reconciler
        let cycle = Task { try await reconciler.cycle() }
        while await fake.queriesWaiting == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await reconciler.health().knownDown == false, "just sent: not hung yet")
        let later = Date().addingTimeInterval(Reconciler.hungAfter + 1)
        let hung = await reconciler.health(now: later)
        #expect(hung.knownDown && !hung.reachable, "\(hung)")
        #expect(hung.lastError?.contains("may be hung") == true)
        // While it hangs, a submission does not start a call of its own.
        try await Task.sleep(for: .seconds(Reconciler.hungAfter))
        let (job, _, _) = try await service.assembly.service.submit(try TestSite.example("gatk_variant_calling"), by: .group("cancer_genomics_lab"), idempotencyKey: nil)
        #expect(job.state == .accepted && job.nativeJobID == nil)
        #expect(await fake.submitCount == 0)
        #expect(await service.assembly.service.readiness()["cluster:dev"]?.ok == false)
        await fake.setHoldQueries(false)
        _ = try await cycle.value
        #expect(await reconciler.health().reachable)
    }
}
