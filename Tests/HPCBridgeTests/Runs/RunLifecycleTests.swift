import Foundation
import Testing
@testable import HPCBridge

/// The pure parts of a run's lifecycle: when a step may be submitted and on what, where a run stands
/// from its steps, and an array step from its tasks.
@Suite("Runs: dependencies, run state, array progress")
struct RunLifecycleTests {
    func job(_ state: JobState, native: String? = nil, reason: String? = nil) -> Job {
        var job = Job(id: UUID(), pipelineName: "p", pipelineVersion: "1", parametersJSON: "{}", researchGroup: "g", description: nil,
                      cluster: "dev", createdAt: Date(), scriptDigest: "", intentJSON: "")
        job.state = state
        job.nativeJobID = native
        job.failureReason = reason
        return job
    }

    @Test("a step depends only on parents the controller lists; ended parents are decided from the store")
    func dependencies() {
        let known: (NativeJobID) -> Bool = { $0.rawValue != "99" }
        #expect(RunDependencies.decide(parents: [], known: known) == .submit(afterOK: []))
        #expect(RunDependencies.decide(parents: [("a", job(.queued, native: "10")), ("b", job(.running, native: "11"))], known: known)
                == .submit(afterOK: ["10", "11"]))
        #expect(RunDependencies.decide(parents: [("a", job(.completed, native: "10")), ("b", job(.queued, native: "11"))], known: known)
                == .submit(afterOK: ["11"]), "a completed parent is no dependency (the controller may have purged it)")
        guard case .blocked(let reason) = RunDependencies.decide(parents: [("a", job(.failed, native: "10", reason: "exit 3")), ("b", job(.queued, native: "11"))], known: known) else {
            Issue.record("a failed parent must block the step"); return
        }
        #expect(reason == "step a failed: exit 3, so this step was not submitted")
        guard case .wait = RunDependencies.decide(parents: [("a", job(.running, native: "99"))], known: known) else {
            Issue.record("a parent the controller does not list (Slurm would lift the dependency) must be waited for"); return
        }
        guard case .wait = RunDependencies.decide(parents: [("a", job(.accepted))], known: known) else {
            Issue.record("an unsubmitted parent must be waited for"); return
        }
        guard case .blocked = RunDependencies.decide(parents: [("a", job(.cancelled, native: "10"))], known: known) else {
            Issue.record("a cancelled parent must block the step"); return
        }
    }

    @Test("a run's state from its steps", arguments: [
        ([JobState.accepted, .accepted], JobState.accepted),
        ([.queued, .accepted], .queued),
        ([.running, .queued], .running),
        ([.completed, .queued], .queued),
        ([.completed, .running], .running),
        ([.failed, .queued], .running),
        ([.completed, .completed], .completed),
        ([.completed, .failed], .failed),
        ([.failed, .failed], .failed),
        ([.completed, .cancelled], .cancelled),
        ([.cancelled, .lost], .failed),
        ([.held], .held),
    ])
    func runState(steps: [JobState], expected: JobState) {
        #expect(Run.state(of: steps) == expected)
    }

    func task(_ status: SchedulerStatus, id: String = "5", index: Int? = nil, start: Double? = nil, end: Double? = nil, exit: Int? = nil) -> SchedulerJobState {
        SchedulerJobState(id: NativeJobID(id), status: status, rawState: "\(status)", exit: exit.map { ProcessExit(code: $0) },
                          startTime: start.map(Date.init(timeIntervalSince1970:)), endTime: end.map(Date.init(timeIntervalSince1970:)), restartCount: 0,
                          array: ArrayMembership(arrayJobID: "5", taskIndex: index))
    }

    @Test("an array step's status from its tasks")
    func stepStatus() {
        #expect(Run.stepStatus(ofTasks: [:], count: 3) == nil)
        #expect(Run.stepStatus(ofTasks: [0: task(.queued(reason: "Priority")), 1: task(.queued(reason: "Priority"))], count: 2) == .queued(reason: "Priority"))
        #expect(Run.stepStatus(ofTasks: [0: task(.completed), 1: task(.queued(reason: "JobArrayTaskLimit"))], count: 2) == .running)
        #expect(Run.stepStatus(ofTasks: [0: task(.completed), 1: task(.completed)], count: 3) == .running, "a task not reported has not ended")
        #expect(Run.stepStatus(ofTasks: [0: task(.completed), 1: task(.failed(.nonZeroExit(code: 3))), 2: task(.failed(.outOfMemory))], count: 3)
                == .failed(.nonZeroExit(code: 3)))
        #expect(Run.stepStatus(ofTasks: [0: task(.completed), 1: task(.completed)], count: 2) == .completed)
    }

    @Test("the reconciler's view of an array: task rows updated, the step as one state with the first failure")
    func arrayProgress() {
        let runID = UUID()
        let step = RunStep(runID: runID, name: "align", jobID: UUID(), needs: [], taskCount: 3, directory: "/r/steps/align")
        let stored = (0..<3).map { RunTask(runID: runID, step: "align", index: $0, sampleID: "S\($0)", state: .queued) }
        let reported = [0: task(.completed, id: "7", index: 0, start: 10, end: 20, exit: 0),
                        1: task(.failed(.nonZeroExit(code: 3)), id: "8", index: 1, start: 11, end: 25, exit: 3),
                        2: task(.running, id: "5", index: 2, start: 12)]
        let (updates, seen) = Reconciler.arrayProgress(job: job(.running, native: "5"), step: step, tasks: reported, stored: stored)
        #expect(updates.map(\.state) == [.completed, .failed, .running])
        #expect(updates.map(\.nativeJobID) == ["7", "8", "5"])
        #expect(updates[1].failureKind == "non_zero_exit" && updates[1].exitCode == 3)
        #expect(seen?.status == .running)
        #expect(seen?.startTime == Date(timeIntervalSince1970: 10))
        // When the last task ends, the step fails with the first failed task's kind and exit code.
        var ended = reported
        ended[2] = task(.completed, id: "5", index: 2, start: 12, end: 30, exit: 0)
        let (_, final) = Reconciler.arrayProgress(job: job(.running, native: "5"), step: step, tasks: ended, stored: stored)
        #expect(final?.status == .failed(.nonZeroExit(code: 3)))
        #expect(final?.exit == ProcessExit(code: 3))
        #expect(final?.endTime == Date(timeIntervalSince1970: 30))
        #expect(final?.reason?.hasPrefix("task 1 ") == true, "\(final?.reason ?? "")")
        // A task already ended in the store keeps its end, and counts for the step when the scheduler no longer lists it.
        var done = stored
        done[0].state = .completed
        let (again, partial) = Reconciler.arrayProgress(job: job(.running, native: "5"), step: step, tasks: [1: ended[1]!, 2: ended[2]!], stored: done)
        #expect(!again.contains { $0.index == 0 })
        #expect(partial?.status == .failed(.nonZeroExit(code: 3)))
    }

    @Test("the % throttle: the request's parallel limit, never above the group's quota")
    func throttle() {
        #expect(RunSubmitter.throttle(nil, activeLimit: nil) == nil)
        #expect(RunSubmitter.throttle(4, activeLimit: nil) == 4)
        #expect(RunSubmitter.throttle(nil, activeLimit: 200) == 200)
        #expect(RunSubmitter.throttle(500, activeLimit: 200) == 200)
        #expect(RunSubmitter.throttle(10, activeLimit: 200) == 10)
    }
}
