import CSlurmShim
import Foundation
import HPCBridge

/// The baseline: libslurm's submit call through CSlurmShim in a plain loop, with nothing around it.
enum RawLibslurm {
    /// A trivial batch job, the same for every contender that submits by hand.
    struct TrivialJob: Sendable {
        var name: String
        var account: String
        var partition: String
        var comment = ""
        var hold = false
        var script = "#!/bin/sh\ntrue\n"
        var workDirectory = "/tmp"
    }

    /// How many raw loops run at once in the concurrent contender (the "4 concurrent processes").
    static let concurrentProcesses = 4

    /// What one worker process of the concurrent contender did, printed as one JSON line.
    struct WorkerReport: Codable, Sendable {
        /// Seconds since 1970 of the first call and of the last answer.
        var firstCall: Double
        var lastAnswer: Double
        var latenciesMS: [Double]
        var errors: Int
        var firstError: String?
    }

    /// The worker's loop: `jobs` trivial submissions in a row, then one report.
    static func runWorker(jobs: Int, account: String, partition: String) throws -> WorkerReport {
        try requireUsable()
        let environment = processEnvironment
        let job = TrivialJob(name: "bench-libslurm-processes", account: account, partition: partition)
        var report = WorkerReport(firstCall: Date().timeIntervalSince1970, lastAnswer: 0, latenciesMS: [], errors: 0)
        let clock = ContinuousClock()
        for _ in 0..<jobs {
            let sent = clock.now
            do { _ = try submit(job, environment: environment) } catch {
                report.errors += 1
                if report.firstError == nil { report.firstError = "\(error)" }
            }
            report.latenciesMS.append((clock.now - sent).milliseconds)
        }
        report.lastAnswer = Date().timeIntervalSince1970
        return report
    }

    static func requireUsable() throws {
        let status = SlurmLibraryStatus.probe()
        guard status.usable else { throw BenchError("libslurm cannot be used here: \(status.reason)") }
    }

    /// Submits one job and returns its Slurm id. The environment is this process's, as sbatch sends its own.
    static func submit(_ job: TrivialJob, environment: [String]) throws -> UInt32 {
        let strings = [job.script, job.name, job.account, job.partition, job.workDirectory, "/dev/null", job.comment]
        let owned = strings.map { strdup($0) }
        let environmentOwned = environment.map { strdup($0) }
        defer {
            owned.forEach { free($0) }
            environmentOwned.forEach { free($0) }
        }
        let environmentPointers = environmentOwned.map { UnsafePointer<CChar>($0) }
        var id: UInt32 = 0
        var number: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let result = environmentPointers.withUnsafeBufferPointer { envp in
            var request = hb_submit_request(
                script: owned[0], name: owned[1], account: owned[2], partition: owned[3], qos: nil, work_dir: owned[4],
                std_out: owned[5], std_err: owned[5], comment: job.comment.isEmpty ? nil : owned[6], cpus: 1, memory_mb: 100,
                time_minutes: 1, gpus: 0, hold: job.hold ? 1 : 0, environment: envp.baseAddress, environment_count: UInt32(environment.count),
                array_inx: nil, dependency: nil, kill_invalid_dep: 0)
            return hb_slurm_submit(&request, &id, &number, &message, message.count)
        }
        guard result == HB_OK else {
            let words = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw BenchError("libslurm refused the job: \(words) (errno \(number))")
        }
        return id
    }

    /// Milliseconds for the controller query alone (`slurm_load_jobs` through the shim, the records copied
    /// and freed, nothing converted): the floor under any full snapshot, whatever hpcbridge does with it.
    static func timeJobQuery() throws -> Double {
        try jobQuery().milliseconds
    }

    /// The controller query alone, timed, with how many records the controller returned (a pending
    /// array is one record, however many tasks it has; a task gets its own once it leaves it).
    static func jobQuery() throws -> (milliseconds: Double, records: Int) {
        var records: UnsafeMutablePointer<hb_job_record>?
        var count = 0
        var lastUpdate: Int64 = 0
        var number: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let clock = ContinuousClock()
        let start = clock.now
        let result = hb_slurm_load_jobs(0, &records, &count, &lastUpdate, &number, &message, message.count)
        hb_slurm_free(records)
        let elapsed = (clock.now - start).milliseconds
        guard result == HB_OK else { throw BenchError("slurm_load_jobs failed (errno \(number))") }
        return (elapsed, count)
    }

    /// This process's environment as KEY=VALUE strings.
    static var processEnvironment: [String] {
        ProcessInfo.processInfo.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }
}
