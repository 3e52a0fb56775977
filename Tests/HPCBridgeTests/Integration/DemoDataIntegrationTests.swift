import Foundation
import Testing
@testable import HPCBridge

/// README's quick start on a fresh machine: `hpcbridge demo-data` on a scratch copy of the shipped config
/// (twice; the second run writes nothing), then every request of config/examples/ as shipped (its paths
/// moved into the scratch copy), through a running `hpcbridge serve`, to `completed` on the live cluster,
/// with what was planted found in the outputs.
@Suite("demo-data and the shipped example requests, through the service, live cluster", .enabled(if: LiveCluster.enabled))
struct DemoDataIntegrationTests {
    @Test("demo-data writes once, and every example request completes and finds what was planted")
    func examplesComplete() async throws {
        try LiveCluster.check()
        let root = try TestPaths.scratchDirectory("demodata")
        // The groups' input roots move under the scratch directory as the references and run roots do
        // (/data/<group> becomes <root>/data/<group>), and the tests' extra root goes, so demo-data writes
        // the reads where the examples, moved the same way, name them.
        let service = try ServeProcess(root: root, edits: [("[\(root)/reads, /data/", "[\(root)/data/")])
        let first = try service.command(["demo-data"])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.hasPrefix("demo-data: wrote"), "\(first.stdout)")
        let fasta = root + "/ref/demo_genome/demo_genome.fa"
        let written = try FileManager.default.attributesOfItem(atPath: fasta)[.modificationDate] as? Date

        let clock = ContinuousClock()
        let start = clock.now
        let second = try service.command(["demo-data"])
        let elapsed = clock.now - start
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.hasPrefix("demo-data: already in place") && second.stdout.split(separator: "\n").count == 1, "\(second.stdout)")
        #expect(elapsed < .seconds(2), "a second run took \(elapsed)")
        #expect(try FileManager.default.attributesOfItem(atPath: fasta)[.modificationDate] as? Date == written, "the second run rewrote the genome")

        try await service.start()
        defer { service.stop() }
        var submitted: [(example: String, id: String, token: String, directory: String)] = []
        for example in ["gatk_variant_calling", "rnaseq_deseq2", "rnaseq_deseq2_design"] {
            let text = try String(contentsOfFile: TestPaths.examples + "/\(example).json", encoding: .utf8)
                .replacingOccurrences(of: "\"/data/", with: "\"\(root)/data/")
            let request = try JSONValue.parse(Data(text.utf8))
            let group = try #require(request["research_group"]?.stringValue)
            let token = try service.token(group: group)
            let created = try await service.request("POST", "/v1/jobs", token: token, body: request)
            #expect(created.status == 201, "\(example): \(created.body?.prettyJSON ?? "")")
            let id = try #require(created.body?["id"]?.stringValue)
            submitted.append((example, id, token, root + "/runs/\(group)/\(id)"))
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for job in submitted {
            let ended = try await service.waitForEnd(job.id, token: job.token, timeout: 300)
            let stderr = (try? String(contentsOfFile: job.directory + "/stderr.log", encoding: .utf8)) ?? ""
            #expect(ended["state"] == "completed", "\(job.example): \(ended.prettyJSON)\nstderr:\n\(stderr.suffix(3000))")
            if let created = ended["created_at"]?.stringValue.flatMap(formatter.date(from:)),
               let finished = ended["finished_at"]?.stringValue.flatMap(formatter.date(from:)) {
                print("\(job.example): \(ended["state"]?.stringValue ?? "?") \(Int(finished.timeIntervalSince(created))) s after submission; ran \(ended["run_seconds"]?.numberValue ?? 0) s")
            }
        }

        let calls = try PassingCalls(vcf: submitted[0].directory + "/NA_01.vcf.gz")
        #expect(calls.genotypes == DemoData.plantedVariants(sample: 0).genotypesByPosition, "calls: \(calls.text)")
        #expect(FileManager.default.fileExists(atPath: submitted[1].directory + "/quant/treated_2/quant.sf"))
        let results = try DESeqResults(directory: submitted[2].directory)
        let geneB = try results.row(DemoData.differentiallyExpressedGene)
        #expect(geneB.contrast == "treated_vs_control")
        #expect(geneB.log2FoldChange > 2, "geneB log2FoldChange \(geneB.log2FoldChange), planted log2(10) = 3.3")
        for gene in Set(DemoData.transcriptToGene.map(\.gene)).subtracting([DemoData.differentiallyExpressedGene]) {
            #expect(abs(try results.row(gene).log2FoldChange) < 1, "\(gene) is not planted to change")
        }
    }
}
