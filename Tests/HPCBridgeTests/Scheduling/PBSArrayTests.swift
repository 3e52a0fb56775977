import Foundation
import Testing
@testable import HPCBridge

/// Arrays and dependencies on PBS: the qsub options, the refusals where PBS cannot express a spec, the
/// qstat fixture in OpenPBS's documented form, and the fake server playing an array and a failed chain.
@Suite("PBS arrays and dependencies")
struct PBSArrayTests {
    func spec(_ name: String = "scatter") -> BatchJobSpec {
        BatchJobSpec(script: "#!/bin/bash\necho hi\n", name: name, account: "cancer_genomics_lab",
                     resources: ResourceRequest(cpus: 1, memoryMB: 1024, timeLimitSeconds: 600),
                     workingDirectory: "/runs/x", stdoutPath: "/runs/x/stdout.log", stderrPath: "/runs/x/stderr.log",
                     comment: "hpcbridge:0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10")
    }

    @Test("qsub -J X-Y%N and -W depend=afterok:A:B")
    func arguments() throws {
        var job = spec()
        job.array = try JobArray(indices: [0...99], maxRunning: 10)
        job.afterOK = ["101.pbs-head", "120[].pbs-head"]
        job.killOnInvalidDependency = true
        let arguments = try PBSCLIScheduler.qsubArguments(job)
        #expect(arguments.suffix(4) == ["-J", "0-99%10", "-W", "depend=afterok:101.pbs-head:120[].pbs-head"])
        job.array = try JobArray(indices: [3...7])
        job.afterOK = []
        #expect(try PBSCLIScheduler.qsubArguments(job).suffix(2) == ["-J", "3-7"])
    }

    @Test("what PBS cannot express is refused, finally, with what to do instead")
    func refusals() throws {
        func refusal(_ change: (inout BatchJobSpec) throws -> Void) throws -> SchedulerError? {
            var job = spec()
            try change(&job)
            do { _ = try PBSCLIScheduler.qsubArguments(job) } catch let error as SchedulerError { return error }
            return nil
        }
        let sparse = try #require(try refusal { $0.array = try JobArray(parsing: "0,6,16-32") })
        #expect(!sparse.transient && sparse.detail.contains("one range"))
        let single = try #require(try refusal { $0.array = try JobArray(taskIndices: [4]) })
        #expect(!single.transient && single.detail.contains("plain job"))
        let keep = try #require(try refusal { $0.afterOK = ["101.pbs-head"]; $0.killOnInvalidDependency = false })
        #expect(!keep.transient && keep.detail.contains("always deletes"))
    }

    @Test("qstat -f -F json -x -t: the array, its subjobs, and a chain PBS deleted after its parent failed")
    func fixture() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/pbs/qstat-f-F-json-x-t-arrays.json"))
        let states = try QstatJSONParser.parse(data)
        let byID = Dictionary(uniqueKeysWithValues: states.map { ($0.id, $0) })
        let array = try #require(byID["120[].pbs-head"])
        #expect(array.status == .running)
        #expect(array.array == ArrayMembership(arrayJobID: "120[].pbs-head", pendingTasks: try JobArray(indices: [3...9], maxRunning: 2)))
        #expect(byID["120[2].pbs-head"]?.array == ArrayMembership(arrayJobID: "120[].pbs-head", taskIndex: 2), "array_index as a string")

        let tasks = SchedulerSnapshot.arrayTasks(of: "120[].pbs-head", in: states)
        #expect(tasks.keys.sorted() == Array(0...9))
        #expect(tasks[0]?.status == .completed)
        #expect(tasks[1]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(tasks[2]?.status == .running)
        #expect(tasks[3]?.id == "120[3].pbs-head" && tasks[3]?.status == .queued(reason: nil))
        #expect(tasks[9]?.status == .queued(reason: nil), "queued in the array's record, not running like the array (B)")
        #expect(SchedulerSnapshot.arrayTasks(of: "121[].pbs-head", in: states).count == 100)
        #expect(byID["121[].pbs-head"]?.array?.pendingTasks?.maxRunning == 10)
        #expect(byID["122[].pbs-head"]?.array?.pendingTasks == nil, "array_indices_remaining '-': none left")

        #expect(byID["130.pbs-head"]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(byID["131.pbs-head"]?.status == .failed(.dependencyNeverSatisfied))
        #expect(byID["132.pbs-head"]?.status == .failed(.dependencyNeverSatisfied), "the deletion cascades")
        #expect(byID["133.pbs-head"]?.status == .failed(.cancelled), "deleted by hand, no dependency")
        #expect(byID["134.pbs-head"]?.status == .queued(reason: "Dependency"), "held by the server for its dependency, not by a person")
    }
}

/// The adapter against the fake server (see Fixtures/fake-pbs/fakepbs.py).
@Suite("PBS CLI adapter: arrays and dependencies with a fake PBS server")
struct PBSArrayFakeServerTests {
    let base: PBSCLISchedulerTests

    init() throws { base = try PBSCLISchedulerTests() }

    /// A job to run after `parent` completed successfully (PBS deletes it if it never can).
    func dependant(on parent: NativeJobID) -> BatchJobSpec {
        var spec = base.spec()
        spec.afterOK = [parent]
        spec.killOnInvalidDependency = true
        return spec
    }

    @Test("an array is submitted with -J, listed with qstat -t and followed task by task")
    func array() async throws {
        var job = base.spec()
        job.array = try JobArray(indices: [0...3], maxRunning: 2)
        let id = try await base.scheduler.submit(job)
        #expect(id == "100[].fakepbs")
        #expect(try base.calls().first?.suffix(2) == ["-J", "0-3%2"])
        var tasks = try await base.scheduler.states(changedSince: nil).arrayTasks(of: id)
        #expect(tasks.keys.sorted() == [0, 1, 2, 3])
        #expect(tasks.values.allSatisfy { $0.status == .queued(reason: nil) })

        try base.edit("100[0].fakepbs") { var j = $0; j["job_state"] = "R"; return j }
        try base.edit("100[1].fakepbs") { var j = $0; j["job_state"] = "X"; j["Exit_status"] = 3; return j }
        let snapshot = try await base.scheduler.states(changedSince: nil)
        #expect(snapshot.jobs[id]?.status == .running, "the array has begun (B)")
        #expect(snapshot.jobs[id]?.array?.pendingTasks == (try JobArray(indices: [2...3], maxRunning: 2)))
        tasks = snapshot.arrayTasks(of: id)
        #expect(tasks[0]?.status == .running)
        #expect(tasks[1]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(tasks[2]?.status == .queued(reason: nil))
        #expect(try base.calls().filter { $0.first == "qstat" }.allSatisfy { $0.contains("-t") })
    }

    @Test("a failed parent: PBS deletes the afterok child and grandchild, read as dependency failures")
    func failedChain() async throws {
        let parent = try await base.scheduler.submit(base.spec())
        let childID = try await base.scheduler.submit(dependant(on: parent))
        #expect(try base.calls()[1].suffix(2) == ["-W", "depend=afterok:\(parent)"])
        let grandchildID = try await base.scheduler.submit(dependant(on: childID))
        #expect(try await base.scheduler.states(changedSince: nil).jobs[childID]?.status == .queued(reason: "Dependency"))

        try base.edit(parent) { var j = $0; j["job_state"] = "F"; j["Exit_status"] = 3; return j }
        let jobs = try await base.scheduler.states(changedSince: nil).jobs
        #expect(jobs[parent]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(jobs[childID]?.status == .failed(.dependencyNeverSatisfied))
        #expect(jobs[grandchildID]?.status == .failed(.dependencyNeverSatisfied))
    }

    @Test("a parent that completed releases its child")
    func satisfied() async throws {
        let parent = try await base.scheduler.submit(base.spec())
        let childID = try await base.scheduler.submit(dependant(on: parent))
        try base.edit(parent) { var j = $0; j["job_state"] = "F"; j["Exit_status"] = 0; return j }
        #expect(try await base.scheduler.states(changedSince: nil).jobs[childID]?.status == .queued(reason: nil))
    }
}
