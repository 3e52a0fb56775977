import Foundation
import Testing
@testable import HPCBridge

/// The rendered scripts of the shipped examples, byte for byte. After a deliberate template change,
/// regenerate with `HPCBRIDGE_UPDATE_GOLDEN=1 make test` and review the diff like code.
@Suite("Golden batch scripts")
struct GoldenScriptTests {
    static let cases: [(example: String, scheduler: ClusterConfig.Scheduler)] = [
        ("gatk_variant_calling", .slurm), ("gatk_variant_calling", .pbs),
        ("rnaseq_deseq2", .slurm), ("rnaseq_deseq2", .pbs),
        ("rnaseq_deseq2_design", .slurm), ("rnaseq_deseq2_design", .pbs),
    ]

    @Test("examples render to their golden scripts", arguments: cases)
    func golden(example: String, scheduler: ClusterConfig.Scheduler) async throws {
        let script = try TestSite.render(try TestSite.example(example), scheduler: scheduler)
        let path = TestPaths.fixtures + "/golden/\(example).\(scheduler.rawValue).sh"
        if ProcessInfo.processInfo.environment["HPCBRIDGE_UPDATE_GOLDEN"] == "1" {
            try TestPaths.write(script.text, to: path)
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(script.text == expected, "rendered script differs from \(path); if the change is intended, regenerate with HPCBRIDGE_UPDATE_GOLDEN=1")
    }

    @Test("rendering is deterministic", arguments: cases)
    func deterministic(example: String, scheduler: ClusterConfig.Scheduler) async throws {
        let request = try TestSite.example(example)
        let first = try TestSite.render(request, scheduler: scheduler)
        for _ in 0..<5 { #expect(try TestSite.render(request, scheduler: scheduler) == first) }
    }

    @Test("rendered scripts are valid bash", arguments: cases)
    func syntax(example: String, scheduler: ClusterConfig.Scheduler) async throws {
        let script = try TestSite.render(try TestSite.example(example), scheduler: scheduler)
        let result = try await run("/bin/bash", ["-n"], input: Data(script.text.utf8))
        #expect(result.status == 0, "bash -n: \(result.stderr)")
    }

    @Test("headers carry the group's scheduler settings and the job's tag")
    func headers() async throws {
        let slurm = try TestSite.render(try TestSite.example("gatk_variant_calling"), scheduler: .slurm)
        #expect(slurm.text.hasPrefix("#!/bin/bash\n#SBATCH --job-name=gatk_variant_calling.NA_01\n#SBATCH --account=cancer_genomics_lab\n#SBATCH --partition=debug\n"))
        #expect(slurm.text.contains("#SBATCH --comment=hpcbridge:0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10\n"))
        #expect(slurm.text.contains("#SBATCH --cpus-per-task=1\n#SBATCH --mem=1024M\n#SBATCH --time=00:10:00\n"))
        let pbs = try TestSite.render(try TestSite.example("gatk_variant_calling"), scheduler: .pbs)
        #expect(pbs.text.contains("#PBS -l select=1:ncpus=1:mem=1024mb\n#PBS -l walltime=00:10:00\n"))
        #expect(pbs.text.contains("#PBS -v HPCBRIDGE_JOB_ID=0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10\n"))
        #expect(!pbs.text.contains("#SBATCH"))
    }

    @Test("declared outputs are rendered and conditional ones follow their parameter")
    func outputs() async throws {
        let single = try TestSite.render(try TestSite.example("rnaseq_deseq2"), scheduler: .slurm)
        #expect(single.outputs == ["sample_table": "samples.tsv", "quantification": "quant/treated_2/quant.sf"])
        let design = try TestSite.render(try TestSite.example("rnaseq_deseq2_design"), scheduler: .slurm)
        #expect(design.outputs == ["sample_table": "samples.tsv", "deseq2_results": "deseq2/results.tsv", "normalized_counts": "deseq2/normalized_counts.tsv"])
    }

    @Test("the group's run root, account and partition must be safe for directive lines")
    func unsafeDirective() async throws {
        var request = try TestSite.example("gatk_variant_calling")
        request.researchGroup = "cancer_genomics_lab"
        var plan = try JobPlanner(site: TestSite.shipped).plan(request, jobID: TestSite.jobID)
        plan.group = ResearchGroup(name: "x", description: nil, cluster: "dev", account: "acct\n#SBATCH --uid=0", partition: nil, qos: nil,
                                   runRoot: "/runs", allowedPipelines: [])
        #expect(throws: RenderError.self) { try TestSite.shipped.renderer.render(plan) }
        plan.group = ResearchGroup(name: "x", description: nil, cluster: "dev", account: "acct", partition: nil, qos: nil,
                                   runRoot: "/runs/a b", allowedPipelines: [])
        #expect(throws: RenderError.self) { try TestSite.shipped.renderer.render(plan) }
    }

    @Test("a group may only run the pipelines it is allowed")
    func notAllowed() async throws {
        var request = try TestSite.example("gatk_variant_calling")
        request.researchGroup = "systems_biology_lab"
        #expect(throws: JobPlanner.Refusal.self) { try JobPlanner(site: TestSite.shipped).plan(request, jobID: TestSite.jobID) }
    }
}
