import Foundation
import Synchronization
import Testing
@testable import HPCBridge

@Suite("Group commit: concurrent submissions share store transactions")
struct GroupCommitTests {
    let store: JobStore

    init() throws {
        store = try JobStore(path: try TestPaths.scratchDirectory("group-commit") + "/hpcbridge.sqlite")
    }

    func newJob(group: String = "cancer_genomics_lab") -> Job {
        Job(id: UUID(), pipelineName: "gatk_variant_calling", pipelineVersion: "1.0.0", parametersJSON: "{}", researchGroup: group,
            description: nil, cluster: "dev", createdAt: Date(), scriptDigest: "abc", intentJSON: "{}")
    }

    /// Holds the store's writer (as a long write of another caller would), so the writes started
    /// meanwhile all wait for the same next transaction. Call the result to let go.
    /// (Waits without blocking a thread of the cooperative pool, which the writes need.)
    func holdTheWriter() async -> @Sendable () -> Void {
        let entered = Atomic(false), release = DispatchSemaphore(value: 0)
        let pool = store.pool
        DispatchQueue.global().async {
            pool.writeWithoutTransaction { _ in
                entered.store(true, ordering: .sequentiallyConsistent)
                release.wait()
            }
        }
        while !entered.load(ordering: .sequentiallyConsistent) { try? await Task.sleep(for: .milliseconds(5)) }
        return { release.signal() }
    }

    /// Starts `jobs` inserts while the writer is held, lets go once all of them wait, and returns what
    /// each caller got, in order.
    func insertTogether(_ jobs: [(job: Job, key: String?, hash: String)], activeLimit: Int?) async -> [Result<JobStore.Insertion, any Error>] {
        let release = await holdTheWriter()
        let store = self.store
        let tasks = jobs.map { entry in
            Task { () -> Result<JobStore.Insertion, any Error> in
                do {
                    return .success(try await store.insertInGroupCommit(entry.job, idempotencyKey: entry.key, requestHash: entry.hash, activeLimit: activeLimit))
                } catch { return .failure(error) }
            }
        }
        for _ in 0..<500 where store.groupCommit.waiting < jobs.count { try? await Task.sleep(for: .milliseconds(10)) }
        #expect(store.groupCommit.waiting == jobs.count, "every write waits for the held writer")
        release()
        var outcomes: [Result<JobStore.Insertion, any Error>] = []
        for task in tasks { outcomes.append(await task.value) }
        return outcomes
    }

    @Test("writes that waited commit in one transaction; the quota is counted across them, so exactly the limit gets in")
    func sharedQuota() async throws {
        _ = try store.insert(newJob())  // one open job before
        let before = store.groupCommit.committed.withLock { $0 }
        let outcomes = await insertTogether((0..<20).map { _ in (newJob(), nil, "") }, activeLimit: 6)
        let created = outcomes.filter { if case .success(.created) = $0 { true } else { false } }.count
        let refused = outcomes.compactMap { result -> JobStore.StoreError? in
            if case .failure(let error as JobStore.StoreError) = result { error } else { nil }
        }
        #expect(created == 5)
        #expect(refused.count == 15)
        #expect(refused.allSatisfy { $0 == .overQuota(group: "cancer_genomics_lab", active: 6) })
        #expect(try store.activeJobCount(group: "cancer_genomics_lab") == 6)
        let after = store.groupCommit.committed.withLock { $0 }
        #expect(after.transactions - before.transactions == 1, "the 20 waiting writes share one transaction")
        #expect(after.writes - before.writes == 20)
    }

    @Test("writes waiting on their own threads (submission lanes) and awaited ones share one transaction, led by a waiting caller; the quota holds across them")
    func waitingCallersLead() async throws {
        let release = await holdTheWriter()
        let store = self.store
        let before = store.groupCommit.committed.withLock { $0 }
        let outcomes = Mutex<[Result<JobStore.Insertion, any Error>]>([])
        let finished = DispatchGroup()
        for _ in 0..<10 {
            let job = newJob()
            finished.enter()
            Thread.detachNewThread {
                let outcome = Result { try store.insertInGroupCommitWaiting(job, idempotencyKey: nil, requestHash: "", activeLimit: 12) }
                outcomes.withLock { $0.append(outcome) }
                finished.leave()
            }
        }
        let awaited = (0..<10).map { _ in
            let job = newJob()
            return Task { () -> Result<JobStore.Insertion, any Error> in
                do { return .success(try await store.insertInGroupCommit(job, activeLimit: 12)) } catch { return .failure(error) }
            }
        }
        for _ in 0..<500 where store.groupCommit.waiting < 20 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(store.groupCommit.waiting == 20, "every write waits for the held writer")
        release()
        for task in awaited {
            let outcome = await task.value
            outcomes.withLock { $0.append(outcome) }
        }
        while finished.wait(timeout: .now()) == .timedOut { try await Task.sleep(for: .milliseconds(10)) }
        let all = outcomes.withLock { $0 }
        #expect(all.count == 20)
        #expect(all.filter { if case .success(.created) = $0 { true } else { false } }.count == 12)
        #expect(all.filter { if case .failure(JobStore.StoreError.overQuota) = $0 { true } else { false } }.count == 8)
        #expect(try store.activeJobCount(group: "cancer_genomics_lab") == 12)
        let after = store.groupCommit.committed.withLock { $0 }
        #expect(after.transactions - before.transactions == 1, "one transaction for the 20 writes")
    }

    @Test("a write that fails in a shared transaction undoes only itself; a key used twice in one transaction gives one job")
    func failureStaysAlone() async throws {
        let first = newJob(), repeated = newJob(), conflicting = newJob(), other = newJob(group: "systems_biology_lab")
        let outcomes = await insertTogether([(first, "k1", "h"), (repeated, "k1", "h"), (conflicting, "k1", "different"), (other, nil, "")],
                                            activeLimit: nil)
        #expect(try outcomes[0].get() == .created(first))
        #expect(try outcomes[1].get() == .existing(first), "the same request again, in the same transaction, is the first one's job")
        #expect(throws: JobStore.StoreError.idempotencyConflict(key: "k1")) { try outcomes[2].get() }
        #expect(try outcomes[3].get() == .created(other))
        #expect(try store.job(first.id) != nil && store.job(other.id) != nil)
        #expect(try store.job(repeated.id) == nil && store.job(conflicting.id) == nil)
        #expect(try store.transitions(of: first.id).map(\.toState) == [.accepted])
    }

    @Test("observers hear of every committed write, once, after the commit")
    func observersAfterCommit() async throws {
        let heard = Mutex<[UUID]>([])
        store.observe { events in heard.withLock { $0 += events.map(\.job.id) } }
        let jobs = (0..<5).map { _ in newJob() }
        let outcomes = await insertTogether(jobs.map { ($0, nil, "") }, activeLimit: nil)
        #expect(outcomes.allSatisfy { if case .success(.created) = $0 { true } else { false } })
        let ids = heard.withLock { $0 }
        #expect(ids.count == jobs.count && Set(ids) == Set(jobs.map(\.id)))
    }

    struct Halfway: Error {}

    @Test("a write that fails after it changed rows is undone alone: the batch runs again write by write")
    func failureHalfway() async throws {
        let good = [newJob(), newJob()], broken = newJob()
        let before = store.groupCommit.committed.withLock { $0 }
        let release = await holdTheWriter()
        let store = self.store
        let first = Task { try await store.insertInGroupCommit(good[0]) }
        for _ in 0..<500 where store.groupCommit.waiting < 1 { try? await Task.sleep(for: .milliseconds(10)) }
        let failing = Task {
            try await store.groupCommit.write { db, _ in
                try JobRecord(broken).insertRow(in: db)
                throw Halfway()
            }
        }
        for _ in 0..<500 where store.groupCommit.waiting < 2 { try? await Task.sleep(for: .milliseconds(10)) }
        let second = Task { try await store.insertInGroupCommit(good[1]) }
        for _ in 0..<500 where store.groupCommit.waiting < 3 { try? await Task.sleep(for: .milliseconds(10)) }
        #expect(store.groupCommit.waiting == 3)
        release()
        #expect(try await first.value == .created(good[0]))
        #expect(try await second.value == .created(good[1]))
        await #expect(throws: Halfway.self) { try await failing.value }
        #expect(try store.job(good[0].id) != nil && store.job(good[1].id) != nil)
        #expect(try store.job(broken.id) == nil, "the failed write's row is undone")
        let after = store.groupCommit.committed.withLock { $0 }
        #expect(after.transactions - before.transactions == 2, "the two good writes, each in its own transaction")
    }

    @Test("a transaction of writes that need no flush commits with synchronous NORMAL; one flushed write makes it FULL; FULL again after")
    func flushOnlyWhenNeeded() async throws {
        let synchronous = "PRAGMA synchronous"
        // Alone, each in a transaction of its own (nothing else is writing).
        let unflushed = try await store.groupCommit.write(flush: false) { db, _ in try Int.fetchOne(db, sql: synchronous) }
        #expect(unflushed == 1, "NORMAL: written to the WAL, flushed by the next flushed commit")
        #expect(try store.writerSynchronousMode() == 2, "the writer is back at FULL for every other write")
        let flushed = try await store.groupCommit.write { db, _ in try Int.fetchOne(db, sql: synchronous) }
        #expect(flushed == 2)
        // Together in one transaction: the flushed write decides.
        let release = await holdTheWriter()
        let store = self.store
        let first = Task { try await store.groupCommit.write(flush: false) { db, _ in try Int.fetchOne(db, sql: synchronous) } }
        for _ in 0..<500 where store.groupCommit.waiting < 1 { try? await Task.sleep(for: .milliseconds(10)) }
        let second = Task { try await store.groupCommit.write { db, _ in try Int.fetchOne(db, sql: synchronous) } }
        for _ in 0..<500 where store.groupCommit.waiting < 2 { try? await Task.sleep(for: .milliseconds(10)) }
        #expect(store.groupCommit.waiting == 2)
        release()
        let firstMode = try await first.value, secondMode = try await second.value
        #expect(firstMode == 2 && secondMode == 2)
    }
}
