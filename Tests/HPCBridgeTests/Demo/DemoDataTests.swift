import Foundation
import Testing
@testable import HPCBridge

/// The demo data generator: its planted truth, its determinism, and (where the tools are installed) that
/// the shipped pipeline finds that truth, without a cluster.
@Suite("Demo data")
struct DemoDataTests {
    /// The index builders and bcftools are here (the dev cluster's `up` installs them); CI requires them.
    static let toolsAvailable = DemoData.missingTools().isEmpty && CommandRunner.locate("bcftools") != nil
    static var toolsEnabled: Bool { toolsAvailable || LiveCluster.required }

    @Test("the germline cohort: sites shared by all, one private site per sample, heterozygous ones, none near the ends")
    func germlinePlan() {
        let samples = DemoData.germlineSampleIDs.indices.map { Set(DemoData.plantedVariants(sample: $0)) }
        let positions = samples.map { Set($0.map(\.position)) }
        let shared = positions.dropFirst().reduce(positions[0]) { $0.intersection($1) }
        #expect(shared.count >= 2)
        for (index, own) in positions.enumerated() {
            let others = positions.enumerated().filter { $0.offset != index }.reduce(Set<Int>()) { $0.union($1.element) }
            #expect(!own.subtracting(others).isEmpty, "sample \(index) has no private variant")
        }
        let all = samples.flatMap { $0 }
        #expect(all.contains { $0.genotype == .heterozygous })
        #expect(all.contains { $0.genotype == .homozygousAlternate })
        for variant in all {
            #expect((500...(DemoData.genomeLength - 500)).contains(variant.position))
            #expect(variant.reference == String(UnicodeScalar(DemoData.genome[variant.position - 1])))
            #expect(variant.alternate != variant.reference)
        }
    }

    @Test("the treated samples express only the planted gene, ten times more")
    func expression() {
        let control = DemoData.expression(condition: "control"), treated = DemoData.expression(condition: "treated")
        for (index, entry) in DemoData.transcriptToGene.enumerated() {
            let expected = entry.gene == DemoData.differentiallyExpressedGene ? DemoData.foldChange : 1
            #expect(treated[index] == control[index] * expected, "\(entry.transcript)")
        }
        #expect(DemoData.rnaSeqSamples.filter { $0.condition == "control" }.count == 2)
        #expect(DemoData.rnaSeqSamples.filter { $0.condition == "treated" }.count == 2)
    }

    @Test("the same reads on every run, listed by the sample sheets")
    func deterministic() async throws {
        let first = try TestPaths.scratchDirectory("demo-a"), second = try TestPaths.scratchDirectory("demo-b")
        let data = DemoData()
        let germline = try data.writeGermlineCohort(in: first), rnaSeq = try data.writeRNASeqCohort(in: first)
        _ = try data.writeGermlineCohort(in: second)
        _ = try data.writeRNASeqCohort(in: second)
        for file in germline.samples.flatMap({ [$0.fastqR1, $0.fastqR2] }) + rnaSeq.samples.flatMap(\.fastqFiles) {
            let other = second + file.dropFirst(first.count)
            #expect(FileManager.default.contents(atPath: file) == FileManager.default.contents(atPath: other), "\(file)")
        }
        let germlineSheet = try String(contentsOfFile: germline.sampleSheet, encoding: .utf8)
        #expect(germlineSheet == "sample_id,fastq_r1,fastq_r2\n" + germline.samples.map { "\($0.id),\($0.fastqR1),\($0.fastqR2)\n" }.joined())
        let rnaSheet = try String(contentsOfFile: rnaSeq.sampleSheet, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(rnaSheet.first == "sample_id,condition,fastq_1,fastq_2")
        #expect(rnaSheet.contains("ctrl_1,control,\(first)/ctrl_1.fastq,"))
        #expect(rnaSheet.contains("treated_2,treated,\(first)/treated_2_R1.fastq,\(first)/treated_2_R2.fastq"))
        // 800 pairs of 2 × 100 bp over 5 kb: about 32x.
        let r1 = try String(contentsOfFile: germline.samples[0].fastqR1, encoding: .utf8)
        #expect(r1.split(separator: "\n").count == DemoData.pairsPerSample * 4)
    }

    @Test("the shipped pipeline's bcftools branch calls exactly the planted variants of every germline sample, PASS",
          .enabled(if: toolsEnabled))
    func germlineCalls() async throws {
        let root = try TestPaths.scratchDirectory("demo-calls")
        try TestPaths.write(try TestPaths.shippedConfig(scratch: root, extraInputRoot: root + "/reads"), to: root + "/hpcbridge.yaml")
        let site = try Site.load(configPath: root + "/hpcbridge.yaml")
        let data = DemoData()
        try await data.writeGenome(try DemoDataInstaller(config: site.config).genome)
        let cohort = try data.writeGermlineCohort(in: root + "/reads/germline")
        // The example's thresholds; the script runs here with bash, as the node would run it.
        let example = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: TestPaths.examples + "/gatk_variant_calling.json")))
        for sample in cohort.samples {
            let document = example.replacing(at: ["parameters", "caller"], with: "bcftools")
                .replacing(at: ["parameters", "sample_id"], with: .string(sample.id))
                .replacing(at: ["parameters", "fastq_r1"], with: .string(sample.fastqR1))
                .replacing(at: ["parameters", "fastq_r2"], with: .string(sample.fastqR2))
            let script = try site.renderer.render(JobPlanner(site: site).plan(try JobRequest(document: document), jobID: UUID()))
            try TestPaths.write(script.text, to: root + "/\(sample.id).sh")
            let result = try await run("/bin/bash", [root + "/\(sample.id).sh"])
            #expect(result.status == 0, "\(sample.id): \(result.stderr.suffix(2000))")
            let calls = try PassingCalls(vcf: script.runDirectory + "/\(sample.id).vcf.gz")
            #expect(calls.genotypes == sample.variants.genotypesByPosition, "\(sample.id): \(calls.text)")
        }
    }

    @Test("the installer writes once: the stamp holds until the generator, a destination or a file changes", .enabled(if: toolsEnabled))
    func stamp() async throws {
        let root = try TestPaths.scratchDirectory("demo-stamp")
        try TestPaths.write(try TestPaths.shippedConfig(scratch: root, extraInputRoot: root + "/reads"), to: root + "/hpcbridge.yaml")
        let installer = try DemoDataInstaller(config: BridgeConfig.load(path: root + "/hpcbridge.yaml"))
        #expect(installer.stampPath == root + "/demo-data.stamp")
        #expect(installer.readDirectories.map(\.directory) == [root + "/reads/demo", root + "/reads/demo"])
        #expect(!installer.isUpToDate())
        guard case .written(let written) = try await installer.install() else { Issue.record("nothing written on a first run"); return }
        #expect(FileManager.default.fileExists(atPath: installer.genome.faidx))
        #expect(FileManager.default.fileExists(atPath: installer.transcriptome.salmonIndex + "/versionInfo.json"))
        #expect(FileManager.default.fileExists(atPath: try #require(installer.transcriptome.annotation)))
        #expect(installer.isUpToDate())
        guard case .upToDate = try await installer.install() else { Issue.record("a second run wrote again"); return }

        try Data("@x\nA\n+\nI\n".utf8).write(to: URL(fileURLWithPath: written.cohorts[0].germline.samples[0].fastqR1))
        #expect(!installer.isUpToDate(), "a changed read file is noticed")
        guard case .written = try await installer.install() else { Issue.record("a changed file was not written again"); return }
        #expect(installer.isUpToDate())
        guard case .written = try await installer.install(force: true) else { Issue.record("--force did not write"); return }

        let moved = try String(contentsOfFile: root + "/hpcbridge.yaml", encoding: .utf8)
            .replacingOccurrences(of: root + "/ref/demo_genome/demo_genome.fa", with: root + "/ref/demo_genome/other.fa")
        try TestPaths.write(moved, to: root + "/hpcbridge.yaml")
        #expect(!(try DemoDataInstaller(config: BridgeConfig.load(path: root + "/hpcbridge.yaml"))).isUpToDate(), "a moved destination is noticed")
    }

    @Test("a config without the demo references is refused with what to add")
    func missingReference() async throws {
        let root = try TestPaths.scratchDirectory("demo-missing")
        let config = try TestPaths.shippedConfig(scratch: root).replacingOccurrences(of: "demo_transcriptome:", with: "other_transcriptome:")
        try TestPaths.write(config, to: root + "/hpcbridge.yaml")
        #expect(throws: DemoDataError.missingReference(name: "demo_transcriptome", kind: "transcriptome", config: root + "/hpcbridge.yaml")) {
            try DemoDataInstaller(config: BridgeConfig.load(path: root + "/hpcbridge.yaml"))
        }
    }
}
