import Foundation
import Testing
@testable import HPCBridge

/// The shipped pipelines' real scripts, submitted through a running `hpcbridge serve` over HTTP, run by
/// Slurm with the real tools on tiny generated data.
@Suite("Shipped pipelines on real tools, through the service, live cluster", .enabled(if: LiveCluster.enabled))
struct RealToolsIntegrationTests {
    func setup() async throws -> ServeProcess {
        try LiveCluster.check()
        for tool in ["bwa", "samtools", "bcftools", "fastp", "salmon", "Rscript"] {
            guard (try await run("/usr/bin/env", ["which", tool])).status == 0 else {
                throw SchedulerError(.unavailable, operation: "setup", detail: "\(tool) is not installed; run contrib/dev-cluster/up (it installs the pipeline tools)")
            }
        }
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("realtools"))
        try await service.start()
        return service
    }

    /// Submits the request over HTTP and waits for the job to end; returns the job and its run directory.
    func runToEnd(_ request: JSONValue, on service: ServeProcess, timeout: TimeInterval = 600) async throws -> (job: JSONValue, directory: String) {
        let group = try #require(request["research_group"]?.stringValue)
        let token = try service.token(group: group)
        let created = try await service.request("POST", "/v1/jobs", token: token, body: request)
        #expect(created.status == 201, "\(created.body?.prettyJSON ?? "")")
        let id = try #require(created.body?["id"]?.stringValue)
        let job = try await service.waitForEnd(id, token: token, timeout: timeout)
        return (job, service.root + "/runs/\(group)/\(id)")
    }

    @Test("gatk_variant_calling with bcftools finds the planted variants of a demo sample")
    func variantCalling() async throws {
        let service = try await setup()
        defer { service.stop() }
        let sample = try await service.writeDemoGenome().samples[0]
        let (job, directory) = try await runToEnd([
            "pipeline_name": "gatk_variant_calling", "research_group": "cancer_genomics_lab", "description": "tiny genome",
            "parameters": ["sample_id": "S1", "reference_genome": "demo_genome", "fastq_r1": .string(sample.fastqR1), "fastq_r2": .string(sample.fastqR2),
                           "caller": "bcftools", "quality_threshold": 20, "depth_threshold": 5],
            "resources": ["cpus": 1, "memory": "2G", "time_limit": "00:20:00"],
        ], on: service)
        let stderr = (try? String(contentsOfFile: directory + "/stderr.log", encoding: .utf8)) ?? ""
        #expect(job["state"] == "completed", "stderr:\n\(stderr.suffix(3000))")
        #expect(job["exit_code"] == 0)
        let manifest = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + ScriptRenderer.manifestFile)))
        for output in manifest["outputs"]?.arrayValue ?? [] {
            #expect(output["exists"] == true, "declared output missing: \(output)")
        }
        let calls = try PassingCalls(vcf: directory + "/S1.vcf.gz")
        #expect(calls.genotypes == sample.variants.genotypesByPosition, "calls: \(calls.text)")
    }

    @Test("rnaseq_deseq2 quantifies with salmon and finds geneB up in the treated samples")
    func rnaseq() async throws {
        let service = try await setup()
        defer { service.stop() }
        let cohort = try await service.writeDemoTranscriptome()
        func samples(_ condition: String) -> JSONValue {
            .array(cohort.samples.filter { $0.condition == condition }.map { ["sample_id": .string($0.id), "fastq_files": .array($0.fastqFiles.map { .string($0) })] })
        }
        let (job, directory) = try await runToEnd([
            "pipeline_name": "rnaseq_deseq2", "research_group": "systems_biology_lab", "description": "tiny transcriptome",
            "parameters": [
                "sample_id": "tiny_study", "reference": "demo_transcriptome", "library_type": "A", "min_quality": 15,
                "design": [["condition": "control", "samples": samples("control")], ["condition": "treated", "samples": samples("treated")]],
            ],
            "resources": ["cpus": 1, "memory": "2G", "time_limit": "00:20:00"],
        ], on: service)
        let stderr = (try? String(contentsOfFile: directory + "/stderr.log", encoding: .utf8)) ?? ""
        #expect(job["state"] == "completed", "stderr:\n\(stderr.suffix(3000))")
        #expect(job["exit_code"] == 0)
        let geneB = try DESeqResults(directory: directory).row(DemoData.differentiallyExpressedGene)
        #expect(geneB.contrast == "treated_vs_control")
        #expect(geneB.log2FoldChange > 2, "geneB log2FoldChange \(geneB.log2FoldChange), planted log2(10) = 3.3")
        #expect(FileManager.default.fileExists(atPath: directory + "/quant/treated_2/quant.sf"))
    }
}
