import Foundation
import Testing
@testable import HPCBridge

/// Job arrays and native dependencies on both Slurm paths against the live cluster. Jobs are tiny (one
/// CPU, 64 MB, a minute's limit, `sleep 1`): the dev node has 2 CPUs and other tests share it.
@Suite("Slurm arrays and dependencies, live cluster", .enabled(if: LiveCluster.enabled))
struct SlurmArrayIntegrationTests {
    static let pathNames = SlurmIntegrationTests.pathNames

    func spec(_ body: String, name: String) throws -> BatchJobSpec {
        var spec = try LiveCluster.spec(body, name: name, seconds: 60, memoryMB: 64)
        // One log per task (%a: the task's index); harmless for a plain job.
        spec.stdoutPath = spec.workingDirectory + "/stdout-%a.log"
        spec.stderrPath = spec.workingDirectory + "/stderr-%a.log"
        return spec
    }

    /// A job to run after `parent` completed successfully, cancelled by Slurm if it never can.
    func dependant(_ body: String, name: String, on parent: NativeJobID) throws -> BatchJobSpec {
        var spec = try spec(body, name: name)
        spec.afterOK = [parent]
        spec.killOnInvalidDependency = true
        return spec
    }

    struct ArrayNotFollowed: Error, CustomStringConvertible {
        let description: String
    }

    /// Follows every task of an array through `states()` alone (the fold of each snapshot), until all have
    /// ended; returns each task's last state. On every snapshot the tasks seen must be the whole array
    /// (pending in the meta record or split off): a task missing while others are still open means the
    /// pending list arrived cut or a record was misread.
    /// A stored job, queued as `native`, for the reconciler's pure decisions.
    static func queuedJob(native: NativeJobID) -> Job {
        var job = Job(id: UUID(), state: .queued, pipelineName: "p", pipelineVersion: "1", parametersJSON: "{}", researchGroup: "g",
                      description: nil, cluster: "dev", createdAt: Date(), scriptDigest: "", intentJSON: "{}")
        job.nativeJobID = native.rawValue
        return job
    }

    static func follow(_ id: NativeJobID, _ array: JobArray, on scheduler: some BatchScheduler, timeout: TimeInterval = 240) async throws -> [Int: SchedulerJobState] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [Int: SchedulerJobState] = [:]
        let all = Set(array.taskIndices)
        while Date() < deadline {
            let tasks = try await scheduler.states(changedSince: nil).arrayTasks(of: id)
            for (index, state) in tasks { last[index] = state }
            let open = all.filter { last[$0]?.status.isTerminal != true }
            if open.isEmpty { return last }
            let missing = open.subtracting(tasks.keys)
            guard missing.isEmpty else {
                throw ArrayNotFollowed(description: "array \(id): open tasks \(missing.sorted()) are not in the snapshot (it shows \(tasks.keys.sorted())); \(LiveCluster.explain(native: id.rawValue))")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw ArrayNotFollowed(description: "array \(id) did not end in time; last seen \(last.mapValues(\.status)); \(LiveCluster.explain(native: id.rawValue))")
    }

    @Test("an array of 4 tasks, 2 at a time, task 2 exiting 3: every task followed to its own end and exit code", arguments: pathNames)
    func array(path: String) async throws {
        try LiveCluster.check()
        let scheduler = try SlurmIntegrationTests.scheduler(path)
        var spec = try spec(#"sleep 1; [ "$SLURM_ARRAY_TASK_ID" = 2 ] && exit 3; exit 0"#, name: "hb-it-array")
        let array = try JobArray(indices: [0...3], maxRunning: 2)
        spec.array = array
        let id = try await scheduler.submit(spec)

        let first = try await scheduler.states(changedSince: nil)
        #expect(first.arrayTasks(of: id).keys.sorted() == [0, 1, 2, 3], "the whole array is visible at once")
        if let meta = first.jobs[id], meta.array?.taskIndex == nil {
            #expect(meta.array?.pendingTasks?.maxRunning == 2, "the throttle is reported with the pending tasks")
        }

        let tasks = try await LiveCluster.cancelling(id, on: scheduler) { try await Self.follow(id, array, on: scheduler) }
        #expect(tasks.keys.sorted() == [0, 1, 2, 3])
        for index in [0, 1, 3] {
            #expect(tasks[index]?.status == .completed, "task \(index): \(String(describing: tasks[index]))")
            #expect(tasks[index]?.exit == ProcessExit.success)
        }
        #expect(tasks[2]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(tasks[2]?.exit == ProcessExit(code: 3))
        #expect(Set(tasks.values.map(\.id)).count == 4, "each task has its own record: \(tasks.values.map(\.id))")
        #expect(tasks.values.allSatisfy { $0.submissionID == id && $0.tag == SchedulerJobState.tag(from: spec.comment) })
        #expect(tasks[3]?.id == NativeJobID("\(id)_3"), "the last task is the array's own record")
    }

    @Test("a parent that fails: its afterok child and grandchild are cancelled by Slurm, as dependency failures", arguments: pathNames)
    func failedParent(path: String) async throws {
        try LiveCluster.check()
        let scheduler = try SlurmIntegrationTests.scheduler(path)
        let since = Date()
        let parent = try await scheduler.submit(try spec("sleep 1; exit 3", name: "hb-it-parent"))
        let childID = try await scheduler.submit(try dependant("true", name: "hb-it-child", on: parent))
        let grandchildID = try await scheduler.submit(try dependant("true", name: "hb-it-grandchild", on: childID))

        // Polled every half second, all three together, well inside MinJobAge: accounting keeps no
        // DependencyNeverSatisfied. (Waited for one after the other, the grandchild was once purged from
        // the controller while the test still waited for its parent on a loaded machine, and read back
        // from accounting as a plain cancel.)
        var ended: [NativeJobID: SchedulerJobState] = [:]
        do {
            ended = try await LiveCluster.waitForAll([parent, childID, grandchildID], on: scheduler, since: since)
        } catch {
            for id in [grandchildID, childID, parent] { try? await scheduler.cancel(id) }
            throw error
        }
        #expect(ended[parent]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(ended[childID]?.status == .failed(.dependencyNeverSatisfied), "\(String(describing: ended[childID]))")
        #expect(ended[grandchildID]?.status == .failed(.dependencyNeverSatisfied), "\(String(describing: ended[grandchildID]))")
        // It never ran: Slurm gives it a start equal to its end, or none at all when the job was cancelled
        // before its scheduler ever looked at it (seen on both paths while the machine was loaded).
        let child = try #require(ended[childID])
        #expect(child.startTime == nil || child.startTime == child.endTime, "\(child)")
        #expect(Reconciler.missedStart(of: Self.queuedJob(native: childID), seen: child) == nil, "a job that never ran gets no start in its history")
    }

    @Test("a dependency on a parent that completed is satisfied: the child runs", arguments: pathNames)
    func completedParent(path: String) async throws {
        try LiveCluster.check()
        let scheduler = try SlurmIntegrationTests.scheduler(path)
        let since = Date()
        let parent = try await scheduler.submit(try spec("true", name: "hb-it-parent-ok"))
        let parentEnd = try await LiveCluster.cancelling(parent, on: scheduler) { try await LiveCluster.waitFor(parent, on: scheduler, since: since) }
        #expect(parentEnd.status == .completed)
        // Still in the controller (MinJobAge): a parent it has purged would lift the dependency whatever its outcome.
        #expect(try await scheduler.states(changedSince: nil).jobs[parent] != nil, "the parent must still be known to Slurm for this test to mean anything")
        let childID = try await scheduler.submit(try dependant("true", name: "hb-it-child-ok", on: parent))
        let childEnd = try await LiveCluster.cancelling(childID, on: scheduler) { try await LiveCluster.waitFor(childID, on: scheduler, since: since) }
        #expect(childEnd.status == .completed)
    }

    @Test("a held sparse array: its pending list arrives whole (not cut at 64 bytes), from the controller and from accounting", arguments: pathNames)
    func longPendingList(path: String) async throws {
        try LiveCluster.check()
        let scheduler = try SlurmIntegrationTests.scheduler(path)
        let since = Date()
        var spec = try spec("true", name: "hb-it-sparse")
        spec.hold = true
        let array = try JobArray(taskIndices: (0..<1000).filter { $0 % 3 != 1 && $0 % 7 != 2 }, maxRunning: 3)
        #expect(array.indexList.utf8.count > 64)
        spec.array = array
        let id = try await scheduler.submit(spec)
        let held = try await LiveCluster.cancelling(id, on: scheduler) { try await LiveCluster.waitFor(id, on: scheduler, since: since) { _ in true } }
        try await scheduler.cancel(id)
        #expect(held.array?.arrayJobID == id && held.array?.taskIndex == nil)
        #expect(held.array?.pendingTasks?.indexList == array.indexList, "whole, with its throttle")
        #expect(held.status == .held(reason: "JobHeldUser"))
        // slurmdbd keeps the never-started tasks in the array's record, but learns of them late: checked
        // here, the record first reads as a plain cancelled job `N`, and `N_[list]` about 1.5 s later.
        var accounted: SchedulerJobState?
        for _ in 0..<60 where accounted?.array?.pendingTasks == nil {
            accounted = try await scheduler.accountingStates(for: [id], since: since)[id]
            if accounted?.array?.pendingTasks == nil { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(accounted?.status == .failed(.cancelled))
        #expect(accounted?.array?.pendingTasks?.indexList == array.indexList)
    }

    @Test("an array index at or over MaxArraySize is refused, finally, in words that say so", arguments: pathNames)
    func overMaxArraySize(path: String) async throws {
        try LiveCluster.check()
        let scheduler = try SlurmIntegrationTests.scheduler(path)
        var spec = try spec("true", name: "hb-it-too-big")
        let limit = try LiveCluster.configValue("MaxArraySize").flatMap(Int.init) ?? 1001
        spec.array = try JobArray(indices: [0...0, limit...limit])
        do {
            let id = try await scheduler.submit(spec)
            try? await scheduler.cancel(id)
            Issue.record("Slurm accepted an array with index \(limit) as \(id)")
        } catch let error as SchedulerError {
            #expect(!error.transient)
            #expect(error.kind == .rejected)
            #expect(error.detail.contains("MaxArraySize"), "\(error.detail)")
        }
    }
}
