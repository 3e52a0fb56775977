import Foundation
import GRDB
import Synchronization
import Testing
@testable import HPCBridge

@Suite("Job store (SQLite in WAL mode)")
struct JobStoreTests {
    let path: String
    let store: JobStore

    init() throws {
        path = try TestPaths.scratchDirectory("store") + "/hpcbridge.sqlite"
        store = try JobStore(path: path)
    }

    func newJob(group: String = "cancer_genomics_lab", pipeline: String = "gatk_variant_calling", createdAt: Date = Date()) -> Job {
        Job(id: UUID(), pipelineName: pipeline, pipelineVersion: "1.0.0", parametersJSON: #"{"sample_id":"S1"}"#, researchGroup: group,
            description: "test", cluster: "dev", createdAt: createdAt, scriptDigest: "abc", intentJSON: "{}")
    }

    @Test("the database runs in WAL mode and flushes every commit")
    func wal() throws {
        #expect(try store.journalMode() == "wal")
        #expect(try store.writerSynchronousMode() == 2, "every commit is flushed (FULL), not only written to the WAL (GRDB's NORMAL)")
        try store.checkWritable()
        #expect(try store.writerSynchronousMode() == 2, "the readiness probe's unflushed write leaves the writer at FULL")
    }

    @Test("an accepted job is stored with its first transition")
    func insert() throws {
        let job = newJob()
        #expect(try store.insert(job) == .created(job))
        #expect(try store.job(job.id) == job)
        let history = try store.transitions(of: job.id)
        #expect(history.map(\.toState) == [.accepted])
        #expect(history.first?.fromState == nil)
    }

    @Test("a store from before v8 keeps every job's intent, now in a table of its own; row and intent updates each land where they belong")
    func intentMovedOut() throws {
        let directory = try TestPaths.scratchDirectory("store-v7")
        let oldPath = directory + "/hpcbridge.sqlite"
        let id = UUID()
        let intent = ##"{"script":"#!/bin/bash\necho \"hi\"\n"}"##
        do {
            // A v7 store with one job, written as v7 wrote it (intent in the job's row).
            let pool = try DatabasePool(path: oldPath)
            try JobStore.migrator.migrate(pool, upTo: "v7: a job row's change position")
            try pool.write { db in
                try db.execute(sql: """
                    INSERT INTO job (id, state, pipelineName, pipelineVersion, parametersJSON, researchGroup, cluster, createdAt, scriptDigest, intentJSON)
                    VALUES (?, 'accepted', 'gatk_variant_calling', '1.0.0', '{}', 'cancer_genomics_lab', 'dev', 0, 'abc', ?)
                    """, arguments: [id.uuidString, intent])
            }
            try pool.close()
        }
        let migrated = try JobStore(path: oldPath)
        #expect(try migrated.job(id)?.intentJSON == intent)
        let columns = try DatabaseQueue(path: oldPath).read { db in try db.columns(in: "job").map(\.name) }
        #expect(!columns.contains("intentJSON"), "the job table has no intent column: \(columns)")
        // Updates of the row and of the intent each land where they belong.
        _ = try migrated.update(id, source: "test") { $0.state = .queued; $0.nativeJobID = "5" }
        #expect(try migrated.job(id)?.intentJSON == intent)
        _ = try migrated.update(id, source: "test") { $0.intentJSON = "{}" }
        #expect(try migrated.job(id)?.intentJSON == "{}")
        #expect(try migrated.job(id)?.nativeJobID == "5")
        // A new job's intent reads back whole, from every way a job is read.
        var job = newJob()
        job.intentJSON = String(repeating: "x", count: 9_000)
        _ = try migrated.insert(job)
        #expect(try migrated.job(job.id)?.intentJSON == job.intentJSON)
        #expect(try migrated.jobs(.init()).jobs.first { $0.id == job.id }?.intentJSON == job.intentJSON)
    }

    @Test("state changes append to the history; terminal states are final; a requeue is counted")
    func transitions() throws {
        let job = newJob()
        _ = try store.insert(job)
        try store.update(job.id, source: "submitter") { $0.state = .queued; $0.nativeJobID = "42" }
        try store.update(job.id, source: "reconciler") { $0.state = .running }
        #expect(throws: JobStore.StoreError.invalidTransition(job.id, from: .running, to: .queued)) {
            try store.update(job.id, source: "reconciler") { $0.state = .queued }
        }
        try store.update(job.id, source: "reconciler", reason: "scontrol requeue", isRequeue: true) { $0.state = .queued; $0.requeueCount += 1 }
        try store.update(job.id, source: "reconciler") { $0.state = .running }
        try store.update(job.id, source: "reconciler", reason: "exit 3") { $0.state = .failed; $0.failureKind = "non_zero_exit"; $0.exitCode = 3 }
        #expect(throws: JobStore.StoreError.self) { try store.update(job.id, source: "reconciler") { $0.state = .completed } }
        let stored = try #require(try store.job(job.id))
        #expect(stored.requeueCount == 1)
        #expect(stored.exitCode == 3)
        #expect(try store.transitions(of: job.id).map(\.toState) == [.accepted, .queued, .running, .queued, .running, .failed])
        #expect(try store.transitions(of: job.id).last?.reason == "exit 3")
    }

    @Test("a forbidden change rolls the whole batch back")
    func atomicBatch() throws {
        let a = newJob(), b = newJob()
        _ = try store.insert(a)
        _ = try store.insert(b)
        try store.update(b.id, source: "t") { $0.state = .completed }
        #expect(throws: JobStore.StoreError.self) {
            try store.apply([
                .init(id: a.id, source: "t") { $0.state = .queued },
                .init(id: b.id, source: "t") { $0.state = .running },
            ])
        }
        #expect(try store.job(a.id)?.state == .accepted)
    }

    @Test("a batch read without scripts keeps parameters and intent in the store, and still writes one a change sets")
    func batchWithoutScripts() throws {
        let kept = newJob(), rewritten = newJob()
        _ = try store.insert(kept)
        _ = try store.insert(rewritten)
        let seen = Mutex<[JobStore.Event]>([])
        store.observe { events in seen.withLock { $0 += events } }
        let returned = try store.apply([
            .init(id: kept.id, source: "reconciler") { $0.state = .queued; $0.nativeJobID = "7" },
            .init(id: rewritten.id, source: "reconciler") { $0.intentJSON = #"{"new":true}"# },
        ], reading: .withoutScripts)
        #expect(returned.map(\.intentJSON) == ["", #"{"new":true}"#], "the jobs returned carry what was read")
        #expect(seen.withLock { $0.map(\.job.parametersJSON) } == [""], "observers get the lean job")
        let stored = try #require(try store.job(kept.id))
        #expect(stored.state == .queued && stored.nativeJobID == "7")
        #expect(stored.parametersJSON == kept.parametersJSON && stored.intentJSON == kept.intentJSON)
        #expect(try store.job(rewritten.id)?.intentJSON == #"{"new":true}"#)
        #expect(try store.job(rewritten.id)?.parametersJSON == rewritten.parametersJSON)
    }

    @Test("an idempotency key returns the first job for the same request and refuses a different one")
    func idempotency() throws {
        let first = newJob()
        #expect(try store.insert(first, idempotencyKey: "k1", requestHash: "h") == .created(first))
        #expect(try store.insert(newJob(), idempotencyKey: "k1", requestHash: "h") == .existing(first))
        #expect(throws: JobStore.StoreError.idempotencyConflict(key: "k1")) { try store.insert(newJob(), idempotencyKey: "k1", requestHash: "other") }
        // keys are per research group
        let other = newJob(group: "systems_biology_lab")
        #expect(try store.insert(other, idempotencyKey: "k1", requestHash: "x") == .created(other))
    }

    @Test("with an active-job limit the insert itself refuses the job over it; a retry of an accepted request still answers")
    func activeLimit() throws {
        let first = newJob(), second = newJob()
        _ = try store.insert(first, idempotencyKey: "a", requestHash: "h1", activeLimit: 2)
        _ = try store.insert(second, activeLimit: 2)
        #expect(throws: JobStore.StoreError.overQuota(group: "cancer_genomics_lab", active: 2)) { try store.insert(newJob(), activeLimit: 2) }
        #expect(try store.insert(newJob(), idempotencyKey: "a", requestHash: "h1", activeLimit: 2) == .existing(first))
        _ = try store.insert(newJob(group: "systems_biology_lab"), activeLimit: 2)  // counted per group
        try store.update(second.id, source: "t") { $0.state = .completed }
        let third = newJob()
        #expect(try store.insert(third, activeLimit: 2) == .created(third), "a finished job frees its place")
    }

    /// The open jobs per group as the triggers keep them and as COUNT(*) finds them (groups at zero left out).
    static func openJobCounts(at path: String) throws -> (kept: [String: Int], counted: [String: Int]) {
        let open = JobStore.openStates.map { "'\($0)'" }.joined(separator: ", ")
        return try DatabaseQueue(path: path).read { db in
            let kept = try Row.fetchAll(db, sql: "SELECT researchGroup, count FROM groupOpenJobs WHERE count <> 0")
            let counted = try Row.fetchAll(db, sql: "SELECT researchGroup, COUNT(*) FROM job WHERE state IN (\(open)) GROUP BY researchGroup")
            return (Dictionary(uniqueKeysWithValues: kept.map { ($0[0] as String, $0[1] as Int) }),
                    Dictionary(uniqueKeysWithValues: counted.map { ($0[0] as String, $0[1] as Int) }))
        }
    }

    @Test("the open jobs per group that the quota reads stay equal to COUNT(*): from a migrated store, through inserts in every state, state changes, a group change and deletes")
    func openJobCounts() throws {
        let directory = try TestPaths.scratchDirectory("store-v8")
        let oldPath = directory + "/hpcbridge.sqlite"
        do {
            // A v8 store with jobs in every state, in two groups.
            let pool = try DatabasePool(path: oldPath)
            try JobStore.migrator.migrate(pool, upTo: "v8: a job's intent in a table of its own")
            try pool.write { db in
                for (index, state) in JobState.allCases.enumerated() {
                    try db.execute(sql: """
                        INSERT INTO job (id, state, pipelineName, pipelineVersion, parametersJSON, researchGroup, cluster, createdAt, scriptDigest)
                        VALUES (?, ?, 'gatk_variant_calling', '1.0.0', '{}', ?, 'dev', 0, 'abc')
                        """, arguments: [UUID().uuidString, state.rawValue, index % 2 == 0 ? "lab_a" : "lab_b"])
                }
            }
            try pool.close()
        }
        let store = try JobStore(path: oldPath)
        var counts = try Self.openJobCounts(at: oldPath)
        #expect(counts.kept == counts.counted)
        #expect(counts.kept.values.reduce(0, +) == JobStore.openStates.count, "every unfinished state counts, and only those")
        // Inserts in every state, then every job moved on.
        var jobs: [Job] = []
        for state in JobState.allCases {
            var job = newJob(group: "lab_c")
            job.state = state
            _ = try store.insert(job)
            jobs.append(job)
        }
        counts = try Self.openJobCounts(at: oldPath)
        #expect(counts.kept == counts.counted)
        #expect(counts.kept["lab_c"] == JobStore.openStates.count)
        for job in jobs where !job.state.isTerminal {
            _ = try store.update(job.id, source: "test") { $0.state = job.state == .running ? .completed : .cancelled }
        }
        try DatabaseQueue(path: oldPath).write { db in
            try db.execute(sql: "UPDATE job SET researchGroup = 'lab_d' WHERE researchGroup = 'lab_a'")
            try db.execute(sql: "UPDATE job SET state = 'queued' WHERE id IN (SELECT id FROM job WHERE researchGroup = 'lab_c' LIMIT 2)")
            try db.execute(sql: "DELETE FROM job WHERE id IN (SELECT id FROM job WHERE researchGroup = 'lab_b' LIMIT 3)")
        }
        counts = try Self.openJobCounts(at: oldPath)
        #expect(counts.kept == counts.counted)
        #expect(counts.kept["lab_c"] == 2 && counts.kept["lab_a"] == nil && counts.kept["lab_d"] != nil)
        #expect(try store.activeJobCount(group: "lab_c") == 2)
    }

    @Test("jobs survive reopening the store")
    func reopen() throws {
        let job = newJob()
        _ = try store.insert(job)
        let reopened = try JobStore(path: path)
        #expect(try reopened.job(job.id) == job)
        #expect(try reopened.nonTerminalJobs(cluster: "dev").map(\.id) == [job.id])
    }

    @Test("listing filters by group, state and pipeline and pages with a stable cursor")
    func listing() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var ids: [UUID] = []
        for i in 0..<7 {
            let job = newJob(createdAt: start.addingTimeInterval(Double(i)))
            ids.append(job.id)
            _ = try store.insert(job)
        }
        _ = try store.insert(newJob(group: "systems_biology_lab", pipeline: "rnaseq_deseq2", createdAt: start))
        try store.update(ids[0], source: "t") { $0.state = .completed }

        var seen: [UUID] = []
        var cursor: (createdAt: Date, id: UUID)?
        repeat {
            let page = try store.jobs(JobStore.Filter(researchGroup: "cancer_genomics_lab"), after: cursor, limit: 3)
            seen += page.jobs.map(\.id)
            cursor = page.next
        } while cursor != nil
        #expect(seen == ids.reversed())
        #expect(try store.jobs(JobStore.Filter(states: [.completed])).jobs.map(\.id) == [ids[0]])
        #expect(try store.jobs(JobStore.Filter(pipeline: "rnaseq_deseq2")).jobs.count == 1)
        #expect(try store.jobs(JobStore.Filter(createdAfter: start.addingTimeInterval(5))).jobs.count == 2)
        #expect(try store.nonTerminalJobs(cluster: "dev").count == 7)
    }

    @Test("the lifecycle's moves", arguments: [
        (JobState.accepted, JobState.queued, false, true), (.queued, .running, false, true), (.running, .completed, false, true),
        (.running, .queued, false, false), (.running, .queued, true, true), (.completed, .failed, false, false),
        (.queued, .accepted, false, false), (.held, .queued, false, true), (.lost, .running, false, false),
    ])
    func moves(from: JobState, to: JobState, requeue: Bool, allowed: Bool) {
        #expect(from.canMove(to: to, isRequeue: requeue) == allowed)
    }
}
