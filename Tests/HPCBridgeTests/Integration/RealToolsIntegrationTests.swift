import Foundation
import Testing
@testable import HPCBridge

/// Deterministic pseudo-random numbers (SplitMix64), so generated test data is the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Tiny real data: a 5 kb genome with two SNPs in the sample, a three-transcript transcriptome with
/// condition-dependent expression, and the indexes the pipelines need, built with the real tools.
struct TinyData {
    let root: String
    var generator = SeededGenerator(state: 42)

    static let bases: [Character] = ["A", "C", "G", "T"]

    mutating func sequence(_ length: Int) -> String {
        String((0..<length).map { _ in Self.bases[Int(generator.next() % 4)] })
    }

    static func reverseComplement(_ s: String) -> String {
        String(s.reversed().map { ["A": "T", "C": "G", "G": "C", "T": "A"][$0]! })
    }

    static func fastqRecord(_ name: String, _ sequence: String) -> String {
        "@\(name)\n\(sequence)\n+\n\(String(repeating: "I", count: sequence.count))\n"
    }

    /// Runs a tool and fails the test with its output if it fails.
    static func tool(_ arguments: String...) throws {
        let result = try run("/usr/bin/env", arguments)
        if result.status != 0 { throw SchedulerError(.rejected, operation: arguments[0], detail: result.stderr) }
    }

    /// Genome, reads with SNPs at 1001 (A/C/G/T swapped) and 3001, and the bwa and faidx indexes.
    mutating func genome() throws -> (fasta: String, r1: String, r2: String, snps: [Int]) {
        let reference = Array(sequence(5000))
        var sample = reference
        let snps = [1001, 3001]
        for p in snps { sample[p - 1] = Self.bases[(Self.bases.firstIndex(of: reference[p - 1])! + 1) % 4] }
        let fasta = root + "/ref/hg38/hg38.fa"
        try TestPaths.write(">chr1\n" + stride(from: 0, to: reference.count, by: 60).map { String(reference[$0..<min($0 + 60, reference.count)]) }.joined(separator: "\n") + "\n", to: fasta)
        // The registry names the BWA index prefix separately (ref/hg38/bwa/hg38.fa), as sites keep it.
        try FileManager.default.createDirectory(atPath: root + "/ref/hg38/bwa", withIntermediateDirectories: true)
        try Self.tool("bwa", "index", "-p", root + "/ref/hg38/bwa/hg38.fa", fasta)
        try Self.tool("samtools", "faidx", fasta)
        var r1 = "", r2 = ""
        for i in 0..<800 {
            let start = Int(generator.next() % UInt64(sample.count - 300))
            let fragment = String(sample[start..<(start + 300)])
            r1 += Self.fastqRecord("read\(i)/1", String(fragment.prefix(100)))
            r2 += Self.fastqRecord("read\(i)/2", Self.reverseComplement(String(fragment.suffix(100))))
        }
        try TestPaths.write(r1, to: root + "/reads/S1_R1.fastq")
        try TestPaths.write(r2, to: root + "/reads/S1_R2.fastq")
        return (fasta, root + "/reads/S1_R1.fastq", root + "/reads/S1_R2.fastq", snps)
    }

    /// Five transcripts of four genes, a salmon index, and single-end reads per sample where the
    /// treated samples express t2 (geneB) ten times more; the other genes anchor DESeq2's normalisation.
    mutating func transcriptome() throws -> [String: String] {
        let transcripts = (1...5).map { _ in sequence(1200) }
        let fasta = root + "/ref/gencode_v38/transcripts.fa"
        try TestPaths.write(transcripts.enumerated().map { ">t\($0.offset + 1)\n\($0.element)\n" }.joined(), to: fasta)
        try TestPaths.write("t1\tgeneA\nt2\tgeneB\nt3\tgeneB\nt4\tgeneC\nt5\tgeneD\n", to: root + "/ref/gencode_v38/tx2gene.tsv")
        try Self.tool("salmon", "index", "-t", fasta, "-i", root + "/ref/gencode_v38/salmon_index", "-k", "21", "-p", "1")
        var files: [String: String] = [:]
        for sample in ["ctrl_1", "ctrl_2", "drug_1", "drug_2"] {
            let weights = sample.hasPrefix("ctrl") ? [10, 2, 5, 8, 12] : [10, 20, 5, 8, 12]
            var reads = ""
            var n = 0
            for (index, weight) in weights.enumerated() {
                for _ in 0..<(weight * 30 + Int(generator.next() % 20)) {
                    let start = Int(generator.next() % UInt64(transcripts[index].count - 75))
                    let chars = Array(transcripts[index])
                    reads += Self.fastqRecord("\(sample).\(n)", String(chars[start..<(start + 75)]))
                    n += 1
                }
            }
            let path = root + "/reads/\(sample).fastq"
            try TestPaths.write(reads, to: path)
            files[sample] = path
        }
        return files
    }
}

/// The shipped pipelines' real scripts, submitted through a running `hpcbridge serve` over HTTP, run by
/// Slurm with the real tools on tiny generated data.
@Suite("Shipped pipelines on real tools, through the service, live cluster", .enabled(if: LiveCluster.enabled))
struct RealToolsIntegrationTests {
    func setup() async throws -> ServeProcess {
        try LiveCluster.check()
        for tool in ["bwa", "samtools", "bcftools", "fastp", "salmon", "Rscript"] {
            guard (try run("/usr/bin/env", ["which", tool])).status == 0 else {
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

    @Test("gatk_variant_calling with bcftools finds the two SNPs")
    func variantCalling() async throws {
        let service = try await setup()
        defer { service.stop() }
        var data = TinyData(root: service.root)
        let genome = try data.genome()
        let (job, directory) = try await runToEnd([
            "pipeline_name": "gatk_variant_calling", "research_group": "cancer_genomics_lab", "description": "tiny genome",
            "parameters": ["sample_id": "S1", "reference_genome": "hg38", "fastq_r1": .string(genome.r1), "fastq_r2": .string(genome.r2),
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
        let calls = try run("/usr/bin/env", ["bcftools", "query", "-f", "%POS\\t%FILTER\\n", directory + "/S1.vcf.gz"])
        let passing = calls.stdout.split(separator: "\n").compactMap { line -> Int? in
            let fields = line.split(separator: "\t")
            return fields.count == 2 && fields[1] == "PASS" ? Int(fields[0]) : nil
        }
        #expect(Set(passing) == Set(genome.snps), "calls: \(calls.stdout)")
    }

    @Test("rnaseq_deseq2 quantifies with salmon and finds geneB up in the treated samples")
    func rnaseq() async throws {
        let service = try await setup()
        defer { service.stop() }
        var data = TinyData(root: service.root)
        let reads = try data.transcriptome()
        func sample(_ id: String) -> JSONValue { ["sample_id": .string(id), "fastq_files": [.string(reads[id]!)]] }
        let (job, directory) = try await runToEnd([
            "pipeline_name": "rnaseq_deseq2", "research_group": "systems_biology_lab", "description": "tiny transcriptome",
            "parameters": [
                "sample_id": "tiny_study", "reference": "gencode_v38", "library_type": "A", "min_quality": 15,
                "design": [
                    ["condition": "control", "samples": [sample("ctrl_1"), sample("ctrl_2")]],
                    ["condition": "drug", "samples": [sample("drug_1"), sample("drug_2")]],
                ],
            ],
            "resources": ["cpus": 1, "memory": "2G", "time_limit": "00:20:00"],
        ], on: service)
        let stderr = (try? String(contentsOfFile: directory + "/stderr.log", encoding: .utf8)) ?? ""
        #expect(job["state"] == "completed", "stderr:\n\(stderr.suffix(3000))")
        #expect(job["exit_code"] == 0)
        let results = try String(contentsOfFile: directory + "/deseq2/results.tsv", encoding: .utf8)
        let rows = results.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let header = try #require(rows.first)
        let feature = try #require(header.firstIndex(of: "feature")), lfc = try #require(header.firstIndex(of: "log2FoldChange"))
        let contrast = try #require(header.firstIndex(of: "contrast"))
        let geneB = try #require(rows.first { $0[feature] == "geneB" })
        #expect(geneB[contrast] == "drug_vs_control")
        #expect((Double(geneB[lfc]) ?? 0) > 1, "geneB log2FoldChange \(geneB[lfc])")
        #expect(FileManager.default.fileExists(atPath: directory + "/quant/drug_2/quant.sf"))
    }
}
