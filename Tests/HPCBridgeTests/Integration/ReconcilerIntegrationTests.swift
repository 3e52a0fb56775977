import Foundation
import Testing
@testable import HPCBridge

/// Accept, submit and reconcile real rendered scripts on the live cluster, with the tools replaced by
/// recording stand-ins (end-to-end runs of the real tools come with the job service's tests).
@Suite("Submitter and reconciler, live cluster", .enabled(if: LiveCluster.enabled))
struct ReconcilerIntegrationTests {
    @Test("jobs reach completed and failed with their exit code, through both Slurm paths", arguments: ["slurm-cli", "slurm-library"])
    func endToEnd(path: String) async throws {
        try LiveCluster.check()
        let sandbox = try InjectionSandbox()
        let scheduler: any BatchScheduler = path == "slurm-library" ? try SlurmLibraryScheduler() : SlurmCLIScheduler()
        let store = try JobStore(path: sandbox.root + "/store.sqlite")
        let submitter = JobSubmitter(site: sandbox.site, store: store, schedulers: ["dev": scheduler])
        let reconciler = Reconciler(cluster: "dev", store: store, scheduler: scheduler, submitter: submitter,
                                    resolver: VanishedJobResolver(exitFileDeadline: 60), interval: .seconds(1))

        func accept(fastq: String) async throws -> Job {
            let request = JobRequest(pipelineName: "gatk_variant_calling", parameters: [
                "sample_id": "S1", "reference_genome": "hg38", "fastq_r1": .string(fastq), "fastq_r2": .string(fastq), "caller": "bcftools",
            ], researchGroup: "cancer_genomics_lab", description: "reconciler integration",
               resources: ["cpus": 1, "memory": "1G", "time_limit": "00:10:00"])
            let (job, created) = try await submitter.accept(request)
            #expect(created)
            var spec = try JobSubmitter.spec(of: job)
            spec.environment = ["PATH": sandbox.root + "/bin:/usr/bin:/bin", "HB_TEST_CALLS": sandbox.calls]
            let intent = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
            return try store.update(job.id, source: "test") { $0.intentJSON = intent }
        }
        let good = try await submitter.submit(try await accept(fastq: sandbox.input("S1.fastq.gz")))
        let bad = try await submitter.submit(try await accept(fastq: "/data/cancer_genomics_lab/missing/S1.fastq.gz"))
        #expect(good.state == .queued)
        #expect(bad.state == .queued)

        let deadline = Date().addingTimeInterval(240)
        while Date() < deadline {
            try await reconciler.cycle()
            if try store.job(good.id)?.state.isTerminal == true, try store.job(bad.id)?.state.isTerminal == true { break }
            try await Task.sleep(for: .seconds(1))
        }
        let done = try #require(try store.job(good.id))
        #expect(done.state == .completed, "\(done); \(LiveCluster.explain(native: done.nativeJobID))")
        #expect(done.exitCode == 0)
        #expect(done.startedAt != nil && done.finishedAt != nil)
        let failed = try #require(try store.job(bad.id))
        #expect(failed.state == .failed, "\(failed); \(LiveCluster.explain(native: failed.nativeJobID))")
        #expect(failed.failureKind == "non_zero_exit")
        #expect(failed.exitCode == 1)
        #expect(try store.transitions(of: done.id).first?.toState == .accepted)
        #expect(try store.transitions(of: done.id).last?.toState == .completed)
        let manifest = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: try JobSubmitter.spec(of: done).workingDirectory + "/" + ScriptRenderer.manifestFile)))
        #expect(manifest["exit_code"] == 0)
    }
}
