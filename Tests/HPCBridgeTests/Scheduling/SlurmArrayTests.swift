import CSlurmShim
import Foundation
import Testing
@testable import HPCBridge

/// Arrays and dependencies on the Slurm paths, from output captured on the dev cluster (22.05.8): an
/// array `--array=0-5%2` (tag ...a1) whose task 2 exits 3; a parent (c1) that exits 3 with an afterok child
/// (c2) and grandchild (c3) submitted with --kill-on-invalid-dep=yes and a child without it (c4); two
/// held arrays cancelled while pending (`0-200:2%3`, and a 2221-character sparse list).
@Suite("Slurm arrays and dependencies (fixtures captured from the dev cluster)")
struct SlurmArrayTests {
    func snapshot(_ name: String) throws -> SchedulerSnapshot {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/slurm/" + name))
        return SchedulerSnapshot(takenAt: Date(), states: try SqueueJSONParser.parse(data))
    }

    func byName(_ snapshot: SchedulerSnapshot) -> [String: SchedulerJobState] {
        Dictionary(snapshot.jobs.values.map { ($0.name ?? "", $0) }, uniquingKeysWith: { a, b in a.id < b.id ? a : b })
    }

    @Test("squeue --json: the meta record holds the pending tasks in full, split tasks have their own records")
    func pendingRunningFinished() throws {
        let snapshot = try snapshot("squeue-array-pending-running-finished.json")
        let meta = try #require(snapshot.jobs["4"])
        #expect(meta.array == ArrayMembership(arrayJobID: "4", pendingTasks: try JobArray(indices: [4...5], maxRunning: 2)))
        #expect(meta.status == .queued(reason: "JobArrayTaskLimit"))
        #expect(snapshot.jobs["4_2"]?.array == ArrayMembership(arrayJobID: "4", taskIndex: 2))
        #expect(snapshot.jobs["4_2"]?.submissionID == "4")
        #expect(snapshot.jobs["5"]?.array == nil, "a plain job has no array facts")

        let tasks = snapshot.arrayTasks(of: "4")
        #expect(tasks.keys.sorted() == Array(0...5))
        #expect(tasks[0]?.status == .completed && tasks[1]?.status == .completed)
        #expect(tasks[2]?.status == .running && tasks[3]?.status == .running)
        #expect(tasks[2]?.id == "4_2")
        #expect(tasks[4]?.status == .queued(reason: "JobArrayTaskLimit") && tasks[5]?.id == "4")
        #expect(tasks.values.allSatisfy { $0.tag == UUID(uuidString: "00000000-0000-0000-0000-0000000000a1") })

        // The children wait on their parent, visibly.
        let jobs = byName(snapshot)
        #expect(jobs["child"]?.status == .queued(reason: "Dependency"))
        #expect(jobs["grandchild"]?.status == .queued(reason: "Dependency"))
    }

    @Test("an array cancelled before it started ends every pending task; a 2221-character list arrives whole")
    func cancelledWhilePending() throws {
        let snapshot = try snapshot("squeue-array-pending-running-finished.json")
        let stepped = snapshot.arrayTasks(of: "2")
        #expect(stepped.count == 101)
        #expect(stepped.values.allSatisfy { $0.status == .failed(.cancelled) })
        #expect(snapshot.jobs["2"]?.array?.pendingTasks?.maxRunning == 3)
        let sparse = try #require(snapshot.jobs["3"]?.array?.pendingTasks)
        #expect(sparse.indexList.utf8.count == 2221)
        #expect(sparse.count == 571)
        #expect(snapshot.arrayTasks(of: "3").count == 571)
    }

    @Test("when one task is left the meta record becomes it: the array's id ends on the last task")
    func lastTask() throws {
        let snapshot = try snapshot("squeue-array-last-task-pending.json")
        #expect(snapshot.jobs["4"] == nil, "no record of pending tasks any more")
        let last = try #require(snapshot.jobs["4_5"])
        #expect(last.array == ArrayMembership(arrayJobID: "4", taskIndex: 5))
        let tasks = snapshot.arrayTasks(of: "4")
        #expect(tasks.keys.sorted() == Array(0...5))
        #expect(tasks[2]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(tasks[2]?.exit == ProcessExit(code: 3))
        #expect(tasks[5]?.status == .queued(reason: "JobArrayTaskLimit"))
    }

    @Test("every task to its own end state and exit code; the dependants of a failed parent cancelled by Slurm")
    func ended() throws {
        let snapshot = try snapshot("squeue-array-ended-dependency-cancelled.json")
        let tasks = snapshot.arrayTasks(of: "4")
        #expect(tasks.keys.sorted() == Array(0...5))
        for index in [0, 1, 3, 4, 5] { #expect(tasks[index]?.status == .completed, "task \(index)") }
        #expect(tasks[2]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(tasks[5]?.id == "4_5")

        let jobs = byName(snapshot)
        #expect(jobs["parent"]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(jobs["child"]?.status == .failed(.dependencyNeverSatisfied))
        #expect(jobs["grandchild"]?.status == .failed(.dependencyNeverSatisfied))
        #expect(jobs["child"]?.reason == "DependencyNeverSatisfied")
        // Without KILL_INV_DEP the child waits forever: pending, with the reason that says so.
        #expect(jobs["keptchild"]?.status == .queued(reason: "DependencyNeverSatisfied"))
        // The array cancelled by hand is a person's cancel.
        #expect(jobs["sparse"]?.status == .failed(.cancelled))
    }

    @Test("sacct: tasks as ARRAY_TASK with their own JobIDRaw, the never-started tasks as ARRAY_[list]")
    func accounting() throws {
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/slurm/sacct-arrays-parsable.txt")), as: UTF8.self)
        let states = try SacctParser.parse(text)
        let byID = Dictionary(uniqueKeysWithValues: states.map { ($0.id, $0) })
        #expect(byID["4_3"]?.array == ArrayMembership(arrayJobID: "4", taskIndex: 3))
        #expect(byID["4_5"]?.array == ArrayMembership(arrayJobID: "4", taskIndex: 5), "JobIDRaw 4: the last task")
        #expect(byID["2"]?.array?.pendingTasks == (try JobArray(parsing: "0-200:2%3")))
        #expect(byID["3"]?.array?.pendingTasks?.count == 571)
        let tasks = SchedulerSnapshot.arrayTasks(of: "4", in: states)
        #expect(tasks.keys.sorted() == Array(0...5))
        #expect(tasks[2]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(tasks[2]?.exit == ProcessExit(code: 3))
        #expect(tasks.values.filter { $0.status == .completed }.count == 5)
        // Accounting keeps no DependencyNeverSatisfied: sacct shows the child CANCELLED (no "by uid"), Reason None.
        #expect(byID["6"]?.rawState == "CANCELLED")
        #expect(byID["6"]?.status == .failed(.cancelled))
        #expect(byID["8"]?.rawState == "CANCELLED by 0")
        #expect(byID["5"]?.array == nil)
    }

    @Test("slurmdbd's hex bitmap of pending tasks", arguments: [("0x15", [0, 2, 4]), ("0x1", [0]), ("0x100", [8]), ("0xF0", [4, 5, 6, 7])])
    func hexMask(text: String, indices: [Int]) throws {
        #expect(Array(try SlurmArrayFields.hexMask(text).taskIndices) == indices)
    }

    @Test("a list cut at 64 bytes says why it cannot be read")
    func cutList() {
        do {
            _ = try SlurmArrayFields.membership(arrayJobID: 3, taskID: nil, taskList: "1,3-4,6,8,10-11,13,15,17-18,20,22,24-25,27,29,31-32,34,36,38...", maxTasks: 0, jobID: "3")
            Issue.record("expected an error")
        } catch let error as SchedulerError {
            #expect(error.detail.contains("SLURM_BITSTR_LEN"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("libslurm records (through the shim): plain job, meta record with its list from the string pool, task")
    func libraryRecords() throws {
        func record(job: UInt32, array: UInt32, task: UInt32, state: UInt32, reason: String, list: UnsafePointer<CChar>?, max: UInt32 = 0) -> hb_job_record {
            var r = hb_job_record()
            r.job_id = job
            r.array_job_id = array
            r.array_task_id = task
            r.array_max_tasks = max
            r.array_task_str = list
            r.job_state = state
            withUnsafeMutableBytes(of: &r.reason) { buffer in
                for (i, byte) in reason.utf8.enumerated() { buffer[i] = byte }
            }
            return r
        }
        let noValue: UInt32 = 0xfffffffe
        try "2-5".withCString { list in
            let meta = try SlurmLibraryScheduler.state(record(job: 4, array: 4, task: noValue, state: 0, reason: "JobArrayTaskLimit", list: list, max: 2))
            #expect(meta.id == "4")
            #expect(meta.array == ArrayMembership(arrayJobID: "4", pendingTasks: try JobArray(indices: [2...5], maxRunning: 2)))
        }
        let task = try SlurmLibraryScheduler.state(record(job: 11, array: 4, task: 2, state: 5, reason: "NonZeroExitCode", list: nil))
        #expect(task.id == "4_2")
        #expect(task.array == ArrayMembership(arrayJobID: "4", taskIndex: 2))
        let plain = try SlurmLibraryScheduler.state(record(job: 6, array: 0, task: noValue, state: 4, reason: "DependencyNeverSatisfied", list: nil))
        #expect(plain.array == nil)
        #expect(plain.status == .failed(.dependencyNeverSatisfied))
        // The dependency text from the string pool decides when the reason is the one the job waited with.
        try "afterok:5(failed)".withCString { dependency in
            var cancelled = record(job: 7, array: 0, task: noValue, state: 4, reason: "Resources", list: nil)
            cancelled.dependency = dependency
            let status = try SlurmLibraryScheduler.state(cancelled).status
            #expect(status == .failed(.dependencyNeverSatisfied))
        }
        #expect(try SlurmLibraryScheduler.state(record(job: 8, array: 0, task: noValue, state: 4, reason: "Resources", list: nil)).status == .failed(.cancelled))
    }

    @Test("sbatch options for an array and its dependencies")
    func sbatchArguments() throws {
        var spec = try LiveCluster.spec("true", name: "arr")
        spec.array = try JobArray(indices: [0...0, 6...6, 16...32], maxRunning: 4)
        spec.afterOK = ["14474", "14480_3"]
        spec.killOnInvalidDependency = true
        let arguments = SlurmCLIScheduler.sbatchArguments(spec)
        #expect(arguments.contains("--array=0,6,16-32%4"))
        #expect(arguments.contains("--dependency=afterok:14474:14480_3"))
        #expect(arguments.contains("--kill-on-invalid-dep=yes"))
        let single = SlurmCLIScheduler.sbatchArguments(try LiveCluster.spec("true", name: "one"))
        #expect(!single.contains { $0.hasPrefix("--array") || $0.hasPrefix("--dependency") || $0.hasPrefix("--kill-on-invalid-dep") })
    }

    @Test("refused before any controller call: an index list over 4 KiB, a dependency that is no Slurm id")
    func checks() throws {
        var spec = try LiveCluster.spec("true", name: "arr")
        spec.array = try JobArray(taskIndices: stride(from: 0, to: 4000, by: 2))
        #expect(throws: SchedulerError.self) { try spec.checkForSlurm() }
        spec.array = try JobArray(indices: [0...999])
        try spec.checkForSlurm()
        for bad: NativeJobID in ["123.pbs-head", "12_", "_3", "1_2_3", "", "١٢"] {
            spec.afterOK = [bad]
            #expect(throws: SchedulerError.self, "\(bad)") { try spec.checkForSlurm() }
        }
        spec.afterOK = ["123", "123_4"]
        try spec.checkForSlurm()
    }

    @Test("array and dependency refusals are final and say what to change; EAGAIN is transient")
    func refusals() {
        let cli = SlurmCLIScheduler.error(CommandRunner.Output(status: 1, stdout: Data(), stderr: "sbatch: error: Batch job submission failed: Invalid job array specification\n"),
                                          operation: "submit", command: "sbatch")
        #expect(!cli.transient)
        #expect(cli.detail.contains("MaxArraySize"))
        let dependency = SlurmCLIScheduler.error(CommandRunner.Output(status: 1, stdout: Data(), stderr: "sbatch: error: Batch job submission failed: Job dependency problem"),
                                                 operation: "submit", command: "sbatch")
        #expect(!dependency.transient && dependency.detail.contains("ESLURM_DEPENDENCY"))
        let busy = SlurmCLIScheduler.error(CommandRunner.Output(status: 1, stdout: Data(), stderr: "sbatch: error: Batch job submission failed: Resource temporarily unavailable"),
                                           operation: "submit", command: "sbatch")
        #expect(busy.transient)

        let message = Array("slurm_submit_batch_job: Invalid job array specification".utf8CString)
        let library = SlurmLibraryScheduler.error(-1, 2081, message, operation: "submit")
        #expect(!library.transient && library.detail.contains("MaxArraySize"))
        #expect(!SlurmLibraryScheduler.error(-1, 2038, message, operation: "submit").transient)
        #expect(SlurmLibraryScheduler.error(-1, 11, Array("slurm_submit_batch_job: Resource temporarily unavailable".utf8CString), operation: "submit").transient)
    }

    @Test("the records of one array are one submission, not duplicates; a second submission with the same tag is")
    func tagged() throws {
        let snapshot = try snapshot("squeue-array-pending-running-finished.json")
        let tag = try #require(UUID(uuidString: "00000000-0000-0000-0000-0000000000a1"))
        #expect(SchedulerJobState.tagged(snapshot.jobs.values)[tag]?.id == "4", "the record of the pending tasks")
        let ended = try self.snapshot("squeue-array-ended-dependency-cancelled.json")
        let found = try #require(SchedulerJobState.tagged(ended.jobs.values)[tag])
        #expect(found.submissionID == "4")
        #expect(found.id == "4_0", "no pending record left: the lowest task stands for the array")
        let duplicate = SchedulerJobState(id: "3", tag: tag, status: .running, rawState: "RUNNING")
        #expect(SchedulerJobState.tagged(Array(snapshot.jobs.values) + [duplicate])[tag]?.id == "3", "a lower submission is the first")
    }
}
