import Foundation
import Testing
@testable import HPCBridge

@Suite("Slurm state map")
struct SlurmStateMapTests {
    typealias Row = (base: String?, flags: Set<String>, reason: String?, exit: ProcessExit?, expected: SchedulerStatus)

    /// Every base state, every flag, and the reasons and exit statuses that change the outcome.
    static let table: [Row] = [
        ("PENDING", [], "Priority", nil, .queued(reason: "Priority")),
        ("PENDING", [], "Resources", nil, .queued(reason: "Resources")),
        ("PENDING", [], "None", nil, .queued(reason: nil)),
        ("PENDING", [], "JobHeldUser", nil, .held(reason: "JobHeldUser")),
        ("PENDING", [], "JobHeldAdmin", nil, .held(reason: "JobHeldAdmin")),
        ("RUNNING", [], nil, nil, .running),
        ("SUSPENDED", [], nil, nil, .suspended),
        ("COMPLETED", [], nil, ProcessExit(code: 0), .completed),
        ("CANCELLED", [], nil, ProcessExit(code: 0, signal: 15), .failed(.cancelled)),
        // a user's scancel keeps the reason the job waited with; Slurm's own cancel of a dependant names why
        ("CANCELLED", [], "Dependency", ProcessExit(code: 0), .failed(.cancelled)),
        ("CANCELLED", [], "DependencyNeverSatisfied", ProcessExit(code: 0), .failed(.dependencyNeverSatisfied)),
        ("PENDING", [], "Dependency", nil, .queued(reason: "Dependency")),
        ("PENDING", [], "DependencyNeverSatisfied", nil, .queued(reason: "DependencyNeverSatisfied")),
        ("FAILED", [], "NonZeroExitCode", ProcessExit(code: 3), .failed(.nonZeroExit(code: 3))),
        ("FAILED", [], "JobLaunchFailure", ProcessExit(code: 0, signal: 9), .failed(.signal(9))),
        ("FAILED", [], "JobLaunchFailure", ProcessExit(code: 0), .failed(.launchFailure)),
        ("FAILED", ["LAUNCH_FAILED"], nil, ProcessExit(code: 1), .failed(.launchFailure)),
        ("TIMEOUT", [], "TimeLimit", ProcessExit(code: 0, signal: 15), .failed(.timeout)),
        ("NODE_FAIL", [], nil, nil, .failed(.nodeFailure)),
        ("PREEMPTED", [], nil, nil, .failed(.preempted)),
        ("BOOT_FAIL", [], nil, nil, .failed(.bootFailure)),
        ("DEADLINE", [], nil, nil, .failed(.deadline)),
        ("OUT_OF_MEMORY", [], "OutOfMemory", ProcessExit(code: 0, signal: 125), .failed(.outOfMemory)),
        // flags
        ("PENDING", ["REQUEUED"], nil, nil, .queued(reason: "Requeued")),
        ("COMPLETED", ["REQUEUED"], nil, nil, .queued(reason: "Requeued")),
        ("PENDING", ["REQUEUE_HOLD"], nil, nil, .held(reason: "REQUEUE_HOLD")),
        ("PENDING", ["SPECIAL_EXIT"], nil, nil, .held(reason: "SPECIAL_EXIT")),
        ("PENDING", ["RESV_DEL_HOLD"], nil, nil, .held(reason: "RESV_DEL_HOLD")),
        ("PENDING", ["REQUEUE_FED"], nil, nil, .queued(reason: "Requeued")),
        ("RUNNING", ["RECONFIG_FAIL"], nil, nil, .queued(reason: "Requeued")),
        ("PENDING", ["CONFIGURING"], nil, nil, .running),
        ("RUNNING", ["CONFIGURING"], nil, nil, .running),
        ("RUNNING", ["POWER_UP_NODE"], nil, nil, .running),
        ("RUNNING", ["STOPPED"], nil, nil, .suspended),
        ("PENDING", ["REVOKED"], nil, nil, .failed(.cancelled)),
        ("COMPLETED", ["COMPLETING"], nil, ProcessExit(code: 0), .completed),
        ("FAILED", ["COMPLETING"], nil, ProcessExit(code: 2), .failed(.nonZeroExit(code: 2))),
        ("RUNNING", ["SIGNALING"], nil, nil, .running),
        ("RUNNING", ["RESIZING", "UPDATE_DB"], nil, nil, .running),
        ("COMPLETED", ["STAGE_OUT"], nil, ProcessExit(code: 0), .completed),
        // the CLI printing a flag instead of the base state
        (nil, ["COMPLETING"], nil, nil, .running),
        (nil, ["CONFIGURING"], nil, nil, .running),
        (nil, ["STOPPED"], nil, nil, .suspended),
        (nil, ["REQUEUED"], nil, nil, .queued(reason: "Requeued")),
    ]

    @Test("the table", arguments: 0..<table.count)
    func row(_ index: Int) {
        let r = Self.table[index]
        #expect(SlurmStateMap.status(base: r.base, flags: r.flags, reason: r.reason, exit: r.exit) == r.expected, "row \(index): \(r)")
    }

    @Test("every base state and every flag is in the tables")
    func exhaustive() {
        #expect(Set(SlurmStateMap.baseStates) == Set(SlurmStateMap.baseTable.keys))
        #expect(Set(SlurmStateMap.flags.map(\.name)) == Set(SlurmStateMap.flagTable.keys))
        for base in SlurmStateMap.baseStates {
            #expect(SlurmStateMap.status(base: base, flags: [], reason: nil, exit: ProcessExit(code: 1)) != nil)
        }
    }

    /// One number per failure kind, through an exhaustive switch: a new kind does not compile until it is
    /// listed here, and then the test below asks for a table row that produces it.
    static func ordinal(_ kind: FailureKind) -> Int {
        switch kind {
        case .nonZeroExit: 0
        case .signal: 1
        case .timeout: 2
        case .outOfMemory: 3
        case .nodeFailure: 4
        case .bootFailure: 5
        case .deadline: 6
        case .preempted: 7
        case .launchFailure: 8
        case .cancelled: 9
        case .dependencyNeverSatisfied: 10
        }
    }

    @Test("every failure kind comes out of some row of the table, with a distinct label")
    func everyFailureKind() {
        let kinds = Self.table.compactMap { row -> FailureKind? in if case .failed(let kind) = row.expected { kind } else { nil } }
        #expect(Set(kinds.map(Self.ordinal)) == Set(0...10))
        #expect(Set(kinds.map(\.label)).count == 11)
    }

    @Test("numeric job_state splits into base and flag names as in slurm.h")
    func numeric() {
        #expect(SlurmStateMap.names(of: 5) == ("FAILED", []))
        #expect(SlurmStateMap.names(of: 0 | 0x400) == ("PENDING", ["REQUEUED"]))
        #expect(SlurmStateMap.names(of: 3 | 0x8000) == ("COMPLETED", ["COMPLETING"]))
        #expect(SlurmStateMap.names(of: 11 | 0x100 | 0x800000) == ("OUT_OF_MEMORY", ["LAUNCH_FAILED", "STAGE_OUT"]))
    }

    @Test("a cancelled job whose dependency text marks a failed parent is a dependency failure, whatever its reason")
    func failedDependencyText() {
        func cancelled(reason: String?, dependency: String?) -> SchedulerStatus? {
            SlurmStateMap.status(base: "CANCELLED", flags: [], reason: reason, exit: ProcessExit(code: 0), dependency: dependency)
        }
        // Slurm's own cancel of a dependant, read with the pending reason it had before (seen once on a loaded machine).
        #expect(cancelled(reason: "Resources", dependency: "afterok:6(failed)") == .failed(.dependencyNeverSatisfied))
        // All parents required: one that failed is enough.
        #expect(cancelled(reason: "Dependency", dependency: "afterok:5(failed),afterok:6(unfulfilled)") == .failed(.dependencyNeverSatisfied))
        #expect(cancelled(reason: nil, dependency: "afterok:5(unfulfilled):6(failed)") == .failed(.dependencyNeverSatisfied))
        // Any one parent suffices: a person's cancel while another may still succeed.
        #expect(cancelled(reason: "Dependency", dependency: "afterok:5(failed)?afterok:6(unfulfilled)") == .failed(.cancelled))
        #expect(cancelled(reason: "Dependency", dependency: "afterok:5(failed)?afterok:6(failed)") == .failed(.dependencyNeverSatisfied))
        #expect(cancelled(reason: "Dependency", dependency: "afterok:5(unfulfilled)") == .failed(.cancelled))
        #expect(cancelled(reason: "Priority", dependency: nil) == .failed(.cancelled))
        #expect(cancelled(reason: "Priority", dependency: "") == .failed(.cancelled))
        // Not cancelled (no KILL_INV_DEP): it waits, with the reason that says so.
        #expect(SlurmStateMap.status(base: "PENDING", flags: [], reason: "DependencyNeverSatisfied", exit: nil, dependency: "afterok:5(failed)")
                == .queued(reason: "DependencyNeverSatisfied"))
    }

    @Test("an unknown state is reported, not guessed")
    func unknown() {
        #expect(SlurmStateMap.status(base: "EXPLODED", flags: [], reason: nil, exit: nil) == nil)
        #expect(SlurmStateMap.status(base: nil, flags: [], reason: nil, exit: nil) == nil)
    }

    @Test("exit statuses decode from each source", arguments: [
        (ProcessExit(waitStatus: 768), ProcessExit(code: 3)),
        (ProcessExit(waitStatus: 9), ProcessExit(code: 0, signal: 9)),
        (ProcessExit(waitStatus: 253), ProcessExit(code: 0, signal: 125)),
        (ProcessExit(waitStatus: 0), ProcessExit.success),
        (ProcessExit(slurmPair: "3:0")!, ProcessExit(code: 3)),
        (ProcessExit(slurmPair: "0:15")!, ProcessExit(code: 0, signal: 15)),
    ])
    func exits(decoded: ProcessExit, expected: ProcessExit) {
        #expect(decoded == expected)
    }
}

@Suite("Slurm output parsers (fixtures captured from the dev cluster)")
struct SlurmParserTests {
    func fixture(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/slurm/" + name))
    }

    func byName(_ states: [SchedulerJobState]) -> [String: SchedulerJobState] {
        Dictionary(states.map { ($0.name ?? "", $0) }, uniquingKeysWith: { $1 })
    }

    @Test("squeue --json: finished, pending, held and running jobs")
    func squeue() throws {
        let jobs = byName(try SqueueJSONParser.parse(try fixture("squeue-pending-held-running.json")))
        #expect(jobs["ok"]?.status == .completed)
        #expect(jobs["ok"]?.tag == UUID(uuidString: "00000000-0000-0000-0000-000000000001"))
        #expect(jobs["exit3"]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(jobs["exit3"]?.exit == ProcessExit(code: 3))
        #expect(jobs["signal9"]?.status == .failed(.signal(9)))
        #expect(jobs["timeout"]?.status == .running)
        #expect(jobs["timeout"]?.startTime != nil)
        #expect(jobs["oom"]?.status == .queued(reason: "Resources"))
        #expect(jobs["oom"]?.startTime == nil)
        #expect(jobs["cancelled"]?.status == .failed(.cancelled))
        #expect(jobs["helduser"]?.status == .held(reason: "JobHeldUser"))
        #expect(jobs["heldadmin"]?.status == .held(reason: "JobHeldAdmin"))
        #expect(jobs.count == 8)
    }

    @Test("squeue --json: a requeued job shows COMPLETING, then PENDING with a restart counted")
    func requeue() throws {
        let during = byName(try SqueueJSONParser.parse(try fixture("squeue-running-requeued.json")))
        #expect(during["requeued"]?.rawState == "COMPLETING")
        #expect(during["requeued"]?.status == .running)
        #expect(during["requeued"]?.restartCount == 1)
        #expect(during["running"]?.status == .running)
        #expect(during["running"]?.tag == UUID(uuidString: "00000000-0000-0000-0000-0000000000aa"))
        #expect(during["oom"]?.status == .failed(.outOfMemory))
        #expect(during["oom"]?.exit == ProcessExit(code: 0, signal: 125))
        let after = byName(try SqueueJSONParser.parse(try fixture("squeue-requeued-pending.json")))
        #expect(after["requeued"]?.status == .queued(reason: "BeginTime"))
        #expect(after["requeued"]?.restartCount == 1)
        #expect(after["tobeheld"]?.status == .held(reason: "JobHeldAdmin"))
    }

    @Test("sacct parsable: final states, exit codes and comments")
    func sacct() throws {
        let jobs = byName(try SacctParser.parse(String(decoding: try fixture("sacct-parsable.txt"), as: UTF8.self)))
        #expect(jobs["ok"]?.status == .completed)
        #expect(jobs["exit3"]?.status == .failed(.nonZeroExit(code: 3)))
        #expect(jobs["signal9"]?.status == .failed(.signal(9)))
        #expect(jobs["timeout"]?.status == .failed(.timeout))
        #expect(jobs["oom"]?.status == .failed(.outOfMemory))
        #expect(jobs["cancelled"]?.status == .failed(.cancelled))
        #expect(jobs["cancelled"]?.startTime == nil)
        #expect(jobs["running"]?.tag == UUID(uuidString: "00000000-0000-0000-0000-0000000000aa"))
        #expect(jobs["timeout"]?.endTime == Date(timeIntervalSince1970: 1795456974))
    }

    @Test("sacct --json in 22.05 misreports exit codes, which is why the parsable form is used")
    func sacctJSONBug() throws {
        let document = try JSONValue.parse(try fixture("sacct-finished.json"))
        let exit3 = document["jobs"]?.arrayValue?.first { $0["name"] == "exit3" }
        #expect(exit3?["exit_code"]?["return_code"] == 0)
        #expect(exit3?["state"]?["current"] == "FAILED")
    }

    @Test("garbage is a malformed-output error, not an empty snapshot")
    func garbage() {
        #expect(throws: SchedulerError.self) { try SqueueJSONParser.parse(Data("slurm_load_jobs error: Unable to contact slurm controller".utf8)) }
        #expect(throws: SchedulerError.self) { try SacctParser.parse("1|x|FAILED") }
    }
}
