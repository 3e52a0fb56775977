import Foundation
import Testing
@testable import HPCBridge

extension ServeProcess {
    /// Writes the demo genome where this service's scratch config names `demo_genome`, and the germline
    /// cohort's reads under `root/reads` (an input root of every group here).
    func writeDemoGenome() async throws -> DemoData.GermlineCohort {
        let data = DemoData()
        try await data.writeGenome(try DemoDataInstaller(config: BridgeConfig.load(path: configPath)).genome)
        return try data.writeGermlineCohort(in: root + "/reads")
    }

    /// The demo cohort's sheet again, but for its second sample's read 1: a copy cut in the middle of a
    /// record, so that sample's alignment task fails ("read 1 has N reads but read 2 has M"). Returns the
    /// sheet's path, the cut file and the intact one (copying it over the cut one repairs the run).
    func writeTruncatedSheet(of cohort: DemoData.GermlineCohort) throws -> (sheet: String, truncated: String, intact: String) {
        let intact = cohort.samples[1].fastqR1
        let truncated = (intact as NSString).deletingLastPathComponent + "/truncated_R1.fq"
        let reads = try String(contentsOfFile: intact, encoding: .utf8)
        try String(reads.prefix(reads.count / 2)).appending("@truncated\nACGT\n+\n").write(toFile: truncated, atomically: true, encoding: .utf8)
        let sheet = root + "/broken.csv"
        try String(contentsOfFile: cohort.sampleSheet, encoding: .utf8).replacingOccurrences(of: intact, with: truncated)
            .write(toFile: sheet, atomically: true, encoding: .utf8)
        return (sheet, truncated, intact)
    }

    /// Writes the demo transcriptome where this service's scratch config names `demo_transcriptome`, and
    /// the RNA-seq cohort's reads under `root/reads`.
    func writeDemoTranscriptome() async throws -> DemoData.RNASeqCohort {
        let data = DemoData()
        try await data.writeTranscriptome(try DemoDataInstaller(config: BridgeConfig.load(path: configPath)).transcriptome)
        return try data.writeRNASeqCohort(in: root + "/reads")
    }
}

extension [DemoData.PlantedVariant] {
    /// What a caller should report: genotype (VCF GT) by position.
    var genotypesByPosition: [Int: String] {
        Dictionary(uniqueKeysWithValues: map { ($0.position, $0.genotype.rawValue) })
    }
}

/// The calls of a single-sample VCF that passed every filter (FILTER PASS), genotype by position.
struct PassingCalls {
    let genotypes: [Int: String]
    /// bcftools' listing of every call, for failure messages.
    let text: String

    init(vcf: String) throws {
        let query = try runBlocking("/usr/bin/env", ["bcftools", "query", "-f", "%POS\\t%FILTER[\\t%GT]\\n", vcf])
        guard query.status == 0 else { throw SchedulerError(.rejected, operation: "bcftools query", detail: query.stderr) }
        text = query.stdout
        var genotypes: [Int: String] = [:]
        for line in query.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            if fields.count == 3, fields[1] == "PASS", let position = Int(fields[0]) { genotypes[position] = fields[2] }
        }
        self.genotypes = genotypes
    }
}

/// `deseq2/results.tsv` of a run directory, read by column name.
struct DESeqResults {
    let rows: [[String: String]]

    init(directory: String) throws {
        let lines = try String(contentsOfFile: directory + "/deseq2/results.tsv", encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let header = try #require(lines.first)
        rows = lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    /// The contrast and log2 fold change of one feature (gene, with the tx2gene table).
    func row(_ feature: String) throws -> (contrast: String, log2FoldChange: Double) {
        let row = try #require(rows.first { $0["feature"] == feature }, "no \(feature) in results.tsv")
        return (row["contrast"] ?? "", Double(row["log2FoldChange"] ?? "") ?? .nan)
    }
}
