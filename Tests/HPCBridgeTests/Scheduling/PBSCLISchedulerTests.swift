import Foundation
import Testing
@testable import HPCBridge

/// The PBS adapter against stand-in qsub/qstat/qdel (no PBS server is packaged for Debian): the
/// commands, their arguments and the states read back.
@Suite("PBS CLI adapter with a fake PBS server")
struct PBSCLISchedulerTests {
    let directory: String
    let state: String
    let scheduler: PBSCLIScheduler

    init() throws {
        directory = try TestPaths.scratchDirectory("fakepbs")
        state = directory + "/state.json"
        let script = TestPaths.fixtures + "/fake-pbs/fakepbs.py"
        for name in ["qsub", "qstat", "qdel"] {
            try FileManager.default.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: script)
        }
        let path = directory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        scheduler = PBSCLIScheduler(runner: CommandRunner(environment: ["PATH": path, "HB_FAKE_PBS_STATE": state]))
    }

    func spec(hold: Bool = false) -> BatchJobSpec {
        BatchJobSpec(script: "#!/bin/bash\necho hi\n", name: "gatk_variant_calling.S1", account: "cancer_genomics_lab", partition: "workq",
                     resources: ResourceRequest(cpus: 4, memoryMB: 16384, timeLimitSeconds: 43200, gpus: 1),
                     workingDirectory: "/runs/x", stdoutPath: "/runs/x/stdout.log", stderrPath: "/runs/x/stderr.log",
                     comment: "hpcbridge:0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10", hold: hold)
    }

    /// Plays the server: changes a job in the state file.
    func edit(_ id: NativeJobID, _ change: ([String: Any]) -> [String: Any]) throws {
        var document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state))) as! [String: Any]
        var jobs = document["Jobs"] as! [String: Any]
        jobs[id.rawValue] = change(jobs[id.rawValue] as! [String: Any])
        document["Jobs"] = jobs
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: state))
    }

    func calls() throws -> [[String]] {
        try String(contentsOfFile: state + ".calls", encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode([String].self, from: Data($0.utf8))
        }
    }

    @Test("submit passes resources, account, queue and the job id variable; the script goes on stdin")
    func submit() async throws {
        let id = try await scheduler.submit(spec())
        #expect(id == "100.fakepbs")
        let qsub = try #require(try calls().first)
        #expect(qsub == ["qsub", "-N", "gatk_variant_calling.S1", "-A", "cancer_genomics_lab", "-l", "select=1:ncpus=4:mem=16384mb:ngpus=1",
                         "-l", "walltime=12:00:00", "-o", "/runs/x/stdout.log", "-e", "/runs/x/stderr.log",
                         "-v", "HPCBRIDGE_JOB_ID=0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10", "-q", "workq"])
        let snapshot = try await scheduler.states(changedSince: nil)
        #expect(snapshot.jobs[id]?.status == .queued(reason: nil))
        #expect(snapshot.jobs[id]?.tag == UUID(uuidString: "0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10"))
    }

    @Test("one qstat per cycle follows a job from queued to running to its outcome")
    func lifecycle() async throws {
        let id = try await scheduler.submit(spec())
        try edit(id) { var j = $0; j["job_state"] = "R"; j["stime"] = "\(Int(Date().timeIntervalSince1970))"; return j }
        #expect(try await scheduler.states(changedSince: nil).jobs[id]?.status == .running)
        try edit(id) { var j = $0; j["job_state"] = "F"; j["Exit_status"] = -29; return j }
        #expect(try await scheduler.states(changedSince: nil).jobs[id]?.status == .failed(.timeout))
        #expect(try await scheduler.accountingStates(for: [id, "999.fakepbs"], since: Date()).keys.sorted() == [id])
        #expect(try calls().filter { $0.first == "qstat" }.count == 3)
    }

    @Test("held jobs, cancellation, and cancelling a finished job")
    func holdAndCancel() async throws {
        let id = try await scheduler.submit(spec(hold: true))
        #expect(try calls().first?.contains("-h") == true)
        if case .held = try await scheduler.states(changedSince: nil).jobs[id]?.status {} else { Issue.record("expected held") }
        try await scheduler.cancel(id)
        #expect(try await scheduler.states(changedSince: nil).jobs[id]?.status == .failed(.cancelled))
        try await scheduler.cancel(id)
    }

    @Test("one qdel for several jobs; a finished or unknown one among them is not an error")
    func cancelMany() async throws {
        let first = try await scheduler.submit(spec()), second = try await scheduler.submit(spec())
        try edit(first) { var j = $0; j["job_state"] = "F"; j["Exit_status"] = 0; return j }
        try await scheduler.cancel([first, second, "999.fakepbs"])
        #expect(try calls().filter { $0.first == "qdel" } == [["qdel", first.rawValue, second.rawValue, "999.fakepbs"]])
        #expect(try await scheduler.states(changedSince: nil).jobs[second]?.status == .failed(.cancelled))
    }

    @Test("max_array_size from the server's status, PBS's default when it is unset")
    func limits() async throws {
        #expect(try await scheduler.limits().maxArrayTasks == PBSCLIScheduler.defaultMaxArraySize)
        // The fake server writes its state file on the first change; none was made yet.
        #expect(!FileManager.default.fileExists(atPath: state))
        var document: [String: Any] = ["next_id": 100, "Jobs": [String: Any]()]
        document["max_array_size"] = 500
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: state))
        #expect(try await scheduler.limits().maxArrayTasks == 500)
        #expect(try calls().last == ["qstat", "-B", "-f", "-F", "json"])
    }

    @Test("a server that does not answer is a transient error")
    func down() async throws {
        var runner = scheduler.runner
        runner.environment["HB_FAKE_PBS_DOWN"] = "1"
        let broken = PBSCLIScheduler(runner: runner)
        do {
            _ = try await broken.states(changedSince: nil)
            Issue.record("expected an error")
        } catch let error as SchedulerError {
            #expect(error.transient)
        }
    }
}
