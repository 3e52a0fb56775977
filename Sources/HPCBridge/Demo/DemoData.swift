import Foundation

/// Tiny, deterministic sequencing data for the shipped pipelines: a 5 kb genome with its BWA and faidx
/// indexes and a germline cohort of four samples with planted variants, and a five-transcript
/// transcriptome with its salmon index, transcript-to-gene table and an RNA-seq cohort of two control and
/// two treated samples in which one gene is planted ten times up.
///
/// Why it exists: a fresh machine has no reference data, and real references take hours to download and
/// index, so a newcomer's first request could only fail. These files are written in seconds, the dev
/// cluster's two CPUs run every shipped pipeline on them in under a minute, and the truth is known, so
/// both a person and a test can check the pipelines found what was planted. Every byte comes from fixed
/// seeds: the same `version` writes the same files on every machine, which is what lets
/// `hpcbridge demo-data` stamp them and skip a second run.
public struct DemoData: Sendable {
    /// The generator's version; bump it whenever the bytes written change, so stamps of older data no
    /// longer match and `hpcbridge demo-data` writes the data again.
    public static let version = 1

    /// The tools that build the indexes (the reads need none).
    public static let requiredTools = ["bwa", "samtools", "salmon"]

    /// The tools of `requiredTools` that are not on PATH.
    public static func missingTools() -> [String] {
        requiredTools.filter { CommandRunner.locate($0) == nil }
    }

    let runner: CommandRunner

    /// `runner` runs the index builders (its environment can set PATH).
    public init(runner: CommandRunner = CommandRunner()) { self.runner = runner }

    // MARK: - Genome and germline cohort

    /// The demo genome's one sequence.
    public static let chromosome = "chr1"
    /// Long enough for reads of 300 bp fragments to cover the planted variants well inside it, short
    /// enough that BWA indexes it and bcftools calls it in a blink.
    public static let genomeLength = 5_000
    /// Read pairs per germline sample: 800 pairs of 2 × 100 bp over 5 kb is about 32x, where bcftools
    /// calls heterozygous sites with QUAL in the hundreds and no site falls below a depth of 10.
    public static let pairsPerSample = 800
    static let germlineReadLength = 100

    /// The genotype a sample carries at a planted site (absent from a sample means reference, 0/0).
    public enum Genotype: String, Sendable, Hashable {
        case heterozygous = "0/1"
        case homozygousAlternate = "1/1"
    }

    /// A variant as one sample carries it (positions are 1-based on `chromosome`, as in VCF).
    public struct PlantedVariant: Sendable, Hashable {
        public let position: Int
        public let reference: String
        public let alternate: String
        public let genotype: Genotype
    }

    /// The germline cohort's samples, in sample-sheet order.
    public static let germlineSampleIDs = ["NA_01", "NA_02", "NA_03", "NA_04"]

    /// Which sample carries which variant: three sites shared by all (one heterozygous), one private site
    /// per sample (two of them heterozygous), at least 500 bp from either end of the genome so depth there
    /// is full.
    static let variantPlan: [(position: Int, genotypes: [Genotype?])] = [
        (1001, [.homozygousAlternate, .homozygousAlternate, .homozygousAlternate, .homozygousAlternate]),
        (2001, [.heterozygous, .heterozygous, .heterozygous, .heterozygous]),
        (3001, [.homozygousAlternate, .homozygousAlternate, .homozygousAlternate, .homozygousAlternate]),
        (1601, [.homozygousAlternate, nil, nil, nil]),
        (2501, [nil, .heterozygous, nil, nil]),
        (3601, [nil, nil, .homozygousAlternate, nil]),
        (4001, [nil, nil, nil, .heterozygous]),
    ]

    /// The genome's bases (A, C, G, T as ASCII).
    public static let genome: [UInt8] = randomBases(genomeLength, seed: 42)

    /// The variants a germline sample carries, by position.
    public static func plantedVariants(sample index: Int) -> [PlantedVariant] {
        variantPlan.compactMap { site in
            site.genotypes[index].map { genotype in
                let reference = genome[site.position - 1]
                return PlantedVariant(position: site.position, reference: String(UnicodeScalar(reference)),
                                      alternate: String(UnicodeScalar(alternate(of: reference))), genotype: genotype)
            }
        }.sorted { $0.position < $1.position }
    }

    /// Where a genome reference goes: the FASTA, and the BWA index prefix (the FASTA itself when a site
    /// keeps the index beside it). The faidx index is `fasta.fai`, where samtools and bcftools look for it.
    public struct GenomeFiles: Sendable, Hashable {
        public var fasta: String
        public var bwaIndex: String
        public var faidx: String { fasta + ".fai" }

        public init(fasta: String, bwaIndex: String? = nil) {
            self.fasta = fasta
            self.bwaIndex = bwaIndex ?? fasta
        }

        /// Every file a genome write leaves.
        public var files: [String] { [fasta, faidx] + ["amb", "ann", "bwt", "pac", "sa"].map { "\(bwaIndex).\($0)" } }
    }

    /// One germline sample's paired reads and what it carries.
    public struct GermlineSample: Sendable, Hashable {
        public let id: String
        public let fastqR1: String
        public let fastqR2: String
        public let variants: [PlantedVariant]
    }

    /// The germline cohort as written: its samples and a sample sheet (`sample_id,fastq_r1,fastq_r2`).
    public struct GermlineCohort: Sendable, Hashable {
        public let samples: [GermlineSample]
        public let sampleSheet: String
        /// Every file written.
        public var files: [String] { samples.flatMap { [$0.fastqR1, $0.fastqR2] } + [sampleSheet] }
    }

    /// Writes the genome FASTA and builds its BWA and faidx indexes with the real tools.
    public func writeGenome(_ files: GenomeFiles) async throws {
        try Self.write(Self.fasta([(Self.chromosome, Self.genome)]), to: files.fasta)
        try Self.makeParent(of: files.bwaIndex)
        try await tool("bwa", "index", "-p", files.bwaIndex, files.fasta)
        try await tool("samtools", "faidx", files.fasta)
    }

    /// Writes the germline cohort's reads (`<id>_R1.fastq`, `<id>_R2.fastq`) and `germline_samples.csv`
    /// into `directory`. Fragments of 250-350 bp come from one of the sample's two haplotypes at random, so a
    /// heterozygous site shows the alternate base in about half the reads over it.
    public func writeGermlineCohort(in directory: String) throws -> GermlineCohort {
        var samples: [GermlineSample] = []
        for (index, id) in Self.germlineSampleIDs.enumerated() {
            let variants = Self.plantedVariants(sample: index)
            var haplotypes = [Self.genome, Self.genome]
            for variant in variants {
                let alternate = variant.alternate.utf8.first!
                haplotypes[1][variant.position - 1] = alternate
                if variant.genotype == .homozygousAlternate { haplotypes[0][variant.position - 1] = alternate }
            }
            var generator = SeededGenerator(state: 1_000 + UInt64(index))
            var r1: [UInt8] = [], r2: [UInt8] = []
            let length = Self.germlineReadLength
            for pair in 0..<Self.pairsPerSample {
                let haplotype = haplotypes[generator.below(2)]
                let fragment = 250 + generator.below(101)
                let start = generator.below(Self.genomeLength - fragment + 1)
                Self.appendRecord("\(id).\(pair)/1", haplotype[start..<(start + length)], to: &r1)
                Self.appendRecord("\(id).\(pair)/2", Self.reverseComplement(haplotype[(start + fragment - length)..<(start + fragment)]), to: &r2)
            }
            let sample = GermlineSample(id: id, fastqR1: directory + "/\(id)_R1.fastq", fastqR2: directory + "/\(id)_R2.fastq", variants: variants)
            try Self.write(r1, to: sample.fastqR1)
            try Self.write(r2, to: sample.fastqR2)
            samples.append(sample)
        }
        let sheet = directory + "/germline_samples.csv"
        try Self.write(Array((["sample_id,fastq_r1,fastq_r2"] + samples.map { "\($0.id),\($0.fastqR1),\($0.fastqR2)" })
            .joined(separator: "\n").appending("\n").utf8), to: sheet)
        return GermlineCohort(samples: samples, sampleSheet: sheet)
    }

    // MARK: - Transcriptome and RNA-seq cohort

    /// Transcript and gene of each demo transcript: geneB has two transcripts, so the transcript-to-gene
    /// table matters; geneA, geneC and geneD stay flat and anchor DESeq2's size factors.
    public static let transcriptToGene: [(transcript: String, gene: String)] = [
        ("t1", "geneA"), ("t2", "geneB"), ("t3", "geneB"), ("t4", "geneC"), ("t5", "geneD"),
    ]
    /// The gene whose transcripts the treated samples express `foldChange` times more.
    public static let differentiallyExpressedGene = "geneB"
    public static let foldChange = 10
    static let transcriptLength = 1_200
    static let rnaReadLength = 75
    /// Reads per transcript in a control sample, per unit of weight (weights in `expression`).
    static let readsPerWeight = 30

    /// The transcripts' bases, in `transcriptToGene` order.
    public static let transcripts: [[UInt8]] = {
        var generator = SeededGenerator(state: 43)
        return transcriptToGene.map { _ in randomBases(transcriptLength, using: &generator) }
    }()

    /// The RNA-seq cohort's samples in sample-sheet order: two control, two treated; the last is
    /// paired-end, so the design runs both of the pipeline's read layouts.
    public static let rnaSeqSamples: [(id: String, condition: String, pairedEnd: Bool)] = [
        ("ctrl_1", "control", false), ("ctrl_2", "control", false), ("treated_1", "treated", false), ("treated_2", "treated", true),
    ]

    /// Relative expression of each transcript in a condition.
    static func expression(condition: String) -> [Int] {
        let control = [10, 2, 5, 8, 12]
        guard condition == "treated" else { return control }
        return zip(control, transcriptToGene).map { $1.gene == differentiallyExpressedGene ? $0 * foldChange : $0 }
    }

    /// Where a transcriptome reference goes; the table and annotation are written only when named.
    public struct TranscriptomeFiles: Sendable, Hashable {
        public var fasta: String
        public var salmonIndex: String
        public var tx2gene: String?
        public var annotation: String?

        public init(fasta: String, salmonIndex: String, tx2gene: String? = nil, annotation: String? = nil) {
            self.fasta = fasta
            self.salmonIndex = salmonIndex
            self.tx2gene = tx2gene
            self.annotation = annotation
        }
    }

    /// One RNA-seq sample: one FASTQ (single-end) or two (R1, R2).
    public struct RNASeqSample: Sendable, Hashable {
        public let id: String
        public let condition: String
        public let fastqFiles: [String]
    }

    /// The RNA-seq cohort as written, with its sample sheet (`sample_id,condition,fastq_1,fastq_2`,
    /// `fastq_2` empty for single-end samples).
    public struct RNASeqCohort: Sendable, Hashable {
        public let samples: [RNASeqSample]
        public let sampleSheet: String
        /// Every file written.
        public var files: [String] { samples.flatMap(\.fastqFiles) + [sampleSheet] }
    }

    /// Writes the transcripts, the transcript-to-gene table and a GTF (when named), and builds the salmon
    /// index with the real tool.
    public func writeTranscriptome(_ files: TranscriptomeFiles) async throws {
        try Self.write(Self.fasta(Array(zip(Self.transcriptToGene.map(\.transcript), Self.transcripts))), to: files.fasta)
        if let tx2gene = files.tx2gene {
            try Self.write(Array(Self.transcriptToGene.map { "\($0.transcript)\t\($0.gene)\n" }.joined().utf8), to: tx2gene)
        }
        if let annotation = files.annotation {
            // The demo transcriptome has no genome behind it: each transcript is its own sequence, one exon.
            let lines = Self.transcriptToGene.flatMap { entry in
                let attributes = "gene_id \"\(entry.gene)\"; transcript_id \"\(entry.transcript)\";"
                return ["transcript", "exon"].map { "\(entry.transcript)\thpcbridge_demo\t\($0)\t1\t\(Self.transcriptLength)\t.\t+\t.\t\(attributes)\n" }
            }
            try Self.write(Array(lines.joined().utf8), to: annotation)
        }
        try Self.makeParent(of: files.salmonIndex)
        try await tool("salmon", "index", "-t", files.fasta, "-i", files.salmonIndex, "-k", "21", "-p", "1")
    }

    /// Writes the RNA-seq cohort's 75 bp reads (`<id>.fastq`, or `<id>_R1.fastq` and `<id>_R2.fastq`) and
    /// `rnaseq_samples.csv` into `directory`. Each transcript gets `weight × 30` reads plus up to 19 more, so
    /// replicates differ a little, as real ones do, and DESeq2 can estimate dispersions.
    public func writeRNASeqCohort(in directory: String) throws -> RNASeqCohort {
        var samples: [RNASeqSample] = []
        let length = Self.rnaReadLength
        for (index, entry) in Self.rnaSeqSamples.enumerated() {
            var generator = SeededGenerator(state: 2_000 + UInt64(index))
            var r1: [UInt8] = [], r2: [UInt8] = []
            var read = 0
            for (transcript, weight) in zip(Self.transcripts, Self.expression(condition: entry.condition)) {
                for _ in 0..<(weight * Self.readsPerWeight + generator.below(20)) {
                    let name = "\(entry.id).\(read)"
                    if entry.pairedEnd {
                        let fragment = 150 + generator.below(101)
                        let start = generator.below(transcript.count - fragment + 1)
                        Self.appendRecord(name + "/1", transcript[start..<(start + length)], to: &r1)
                        Self.appendRecord(name + "/2", Self.reverseComplement(transcript[(start + fragment - length)..<(start + fragment)]), to: &r2)
                    } else {
                        let start = generator.below(transcript.count - length + 1)
                        Self.appendRecord(name, transcript[start..<(start + length)], to: &r1)
                    }
                    read += 1
                }
            }
            let files = entry.pairedEnd ? [directory + "/\(entry.id)_R1.fastq", directory + "/\(entry.id)_R2.fastq"] : [directory + "/\(entry.id).fastq"]
            try Self.write(r1, to: files[0])
            if entry.pairedEnd { try Self.write(r2, to: files[1]) }
            samples.append(RNASeqSample(id: entry.id, condition: entry.condition, fastqFiles: files))
        }
        let sheet = directory + "/rnaseq_samples.csv"
        let rows = samples.map { "\($0.id),\($0.condition),\($0.fastqFiles[0]),\($0.fastqFiles.count > 1 ? $0.fastqFiles[1] : "")" }
        try Self.write(Array((["sample_id,condition,fastq_1,fastq_2"] + rows).joined(separator: "\n").appending("\n").utf8), to: sheet)
        return RNASeqCohort(samples: samples, sampleSheet: sheet)
    }

    // MARK: - Sequences and files

    static let bases = Array("ACGT".utf8)

    static func randomBases(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(state: seed)
        return randomBases(count, using: &generator)
    }

    static func randomBases(_ count: Int, using generator: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in bases[generator.below(4)] }
    }

    /// The next base in A, C, G, T order: a fixed, always different alternate allele.
    static func alternate(of base: UInt8) -> UInt8 { bases[(bases.firstIndex(of: base)! + 1) % 4] }

    static func reverseComplement(_ sequence: ArraySlice<UInt8>) -> [UInt8] {
        sequence.reversed().map { base in
            switch base {
            case UInt8(ascii: "A"): UInt8(ascii: "T")
            case UInt8(ascii: "C"): UInt8(ascii: "G")
            case UInt8(ascii: "G"): UInt8(ascii: "C")
            default: UInt8(ascii: "A")
            }
        }
    }

    /// One FASTQ record; every base has quality 40 ('I'): the reads are error-free, so every call is a
    /// planted variant.
    static func appendRecord(_ name: String, _ sequence: some Collection<UInt8>, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "@"))
        buffer.append(contentsOf: name.utf8)
        buffer.append(UInt8(ascii: "\n"))
        buffer.append(contentsOf: sequence)
        buffer.append(contentsOf: "\n+\n".utf8)
        buffer.append(contentsOf: repeatElement(UInt8(ascii: "I"), count: sequence.count))
        buffer.append(UInt8(ascii: "\n"))
    }

    /// FASTA with 60 bases a line.
    static func fasta(_ records: [(name: String, sequence: [UInt8])]) -> [UInt8] {
        var text: [UInt8] = []
        for (name, sequence) in records {
            text.append(contentsOf: ">\(name)\n".utf8)
            for start in stride(from: 0, to: sequence.count, by: 60) {
                text.append(contentsOf: sequence[start..<min(start + 60, sequence.count)])
                text.append(UInt8(ascii: "\n"))
            }
        }
        return text
    }

    static func makeParent(of path: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
            throw DemoDataError.cannotWrite(path: parent, reason: error.localizedDescription)
        }
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try makeParent(of: path)
        do { try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw DemoDataError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }

    /// Runs an index builder; its output is kept only to explain a failure.
    func tool(_ arguments: String...) async throws {
        let output: CommandRunner.Output
        do {
            output = try await runner.run(arguments[0], Array(arguments.dropFirst()), timeout: .seconds(300), operation: "demo-data")
        } catch let error as SchedulerError {
            throw DemoDataError.toolFailed(command: arguments.joined(separator: " "), detail: error.detail)
        }
        guard output.status == 0 else {
            let detail = "exit status \(output.status): " + String(output.stderr.suffix(2000)).trimmingCharacters(in: .whitespacesAndNewlines)
            throw DemoDataError.toolFailed(command: arguments.joined(separator: " "), detail: detail)
        }
    }
}
