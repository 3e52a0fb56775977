import Foundation
import Testing
@testable import HPCBridge

@Suite("PBS state map and qstat parser")
struct PBSStateMapTests {
    @Test("every state letter", arguments: [
        ("Q", SchedulerStatus.queued(reason: nil)), ("W", .queued(reason: "waiting for its start time")),
        ("T", .queued(reason: "being moved to its execution queue")), ("H", .held(reason: nil)), ("R", .running),
        ("B", .running), ("E", .running), ("S", .suspended), ("U", .suspended), ("M", .failed(.cancelled)),
    ])
    func letters(letter: String, expected: SchedulerStatus) {
        #expect(PBSStateMap.status(state: letter, exitStatus: nil) == expected)
    }

    @Test("finished jobs by exit-status convention", arguments: [
        (0, SchedulerStatus.completed), (3, .failed(.nonZeroExit(code: 3))), (127, .failed(.nonZeroExit(code: 127))),
        (128, .failed(.nonZeroExit(code: 128))), (137, .failed(.signal(9))), (143, .failed(.signal(15))),
        (265, .failed(.signal(9))), (271, .failed(.signal(15))), (-1, .failed(.launchFailure)), (-2, .failed(.launchFailure)),
        (-3, .queued(reason: "Requeued")), (-10, .failed(.launchFailure)), (-11, .queued(reason: "Requeued")),
        (-20, .failed(.nodeFailure)), (-27, .failed(.outOfMemory)), (-26, .failed(.outOfMemory)), (-29, .failed(.timeout)),
        (-99, .failed(.launchFailure)),
    ])
    func exits(status: Int, expected: SchedulerStatus) {
        #expect(PBSStateMap.status(state: "F", exitStatus: status) == expected)
        #expect(PBSStateMap.status(state: "X", exitStatus: status) == expected)
    }

    @Test("a finished job without an exit status was deleted before it ran")
    func deleted() {
        #expect(PBSStateMap.status(state: "F", exitStatus: nil) == .failed(.cancelled))
    }

    @Test("unknown letters are reported")
    func unknown() {
        #expect(PBSStateMap.status(state: "Z", exitStatus: nil) == nil)
    }

    @Test("qstat -f -F json -x: states, tags, both time formats")
    func parser() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/pbs/qstat-f-F-json-x.json"))
        let jobs = Dictionary(uniqueKeysWithValues: try QstatJSONParser.parse(data).map { ($0.name ?? "", $0) })
        #expect(jobs.count == 16)
        let queued = try #require(jobs["gatk_variant_calling.S1"])
        #expect(queued.id == "101.pbs-head")
        #expect(queued.status == .queued(reason: nil))
        #expect(queued.reason == "Not Running: Insufficient amount of resource: ncpus")
        #expect(queued.tag == UUID(uuidString: "0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10"))
        #expect(queued.submitTime == Date(timeIntervalSince1970: 1750368471))
        #expect(jobs["held"]?.status == .held(reason: "job held by user"))
        #expect(jobs["held"]?.tag == UUID(uuidString: "11111111-1111-1111-1111-111111111111"))
        #expect(jobs["running"]?.startTime == Date(timeIntervalSince1970: 1750368100))
        #expect(jobs["ok"]?.status == .completed)
        #expect(jobs["ok"]?.endTime == Date(timeIntervalSince1970: 1750369200))
        #expect(jobs["exit3"]?.exit == ProcessExit(code: 3))
        #expect(jobs["pbs_sigterm"]?.exit == ProcessExit(code: 0, signal: 15))
        #expect(jobs["shell_sigkill"]?.status == .failed(.signal(9)))
        #expect(jobs["walltime"]?.status == .failed(.timeout))
        #expect(jobs["memory"]?.status == .failed(.outOfMemory))
        #expect(jobs["deleted_queued"]?.status == .failed(.cancelled))
        #expect(jobs["retry"]?.status == .queued(reason: "Requeued"))
        #expect(jobs["retry"]?.restartCount == 1)
        #expect(jobs["walltime"]?.rawState == "F/93")
    }

    @Test("garbage is an error")
    func garbage() {
        #expect(throws: SchedulerError.self) { try QstatJSONParser.parse(Data("qstat: cannot connect to server".utf8)) }
    }
}
