import Crypto
import Foundation

/// `hpcbridge demo-data` for one site config: the demo references go exactly where the registry entries
/// `demo_genome` and `demo_transcriptome` say, and the demo reads under the first input root of every
/// research group (`<root>/demo/germline`, `<root>/demo/rnaseq`), so the example requests, which name
/// those paths, run as written and pass each group's input-root check.
///
/// A stamp beside the job store records a digest of the generator's version and every destination, and
/// the size of every file written. While both hold, the data is in place and nothing is written: a second
/// `make run` costs a few `stat` calls. The stamp is removed first and written last, so an interrupted
/// run leaves no stamp and the next one writes everything again.
public struct DemoDataInstaller: Sendable {
    /// The registry entries the demo references are written to (and the examples name).
    public static let genomeName = "demo_genome"
    public static let transcriptomeName = "demo_transcriptome"

    /// Where one group's demo reads go.
    public struct ReadDirectory: Sendable, Hashable {
        public let group: String
        /// `<first input root>/demo`
        public let directory: String
        public var germline: String { directory + "/germline" }
        public var rnaSeq: String { directory + "/rnaseq" }
    }

    public let genome: DemoData.GenomeFiles
    public let transcriptome: DemoData.TranscriptomeFiles
    public let readDirectories: [ReadDirectory]
    /// Groups without input roots: their jobs may read anything, so there is no root that is theirs to
    /// put reads under; the other groups' copies serve them.
    public let groupsWithoutInputRoots: [String]
    /// `demo-data.stamp` in the job store's directory (the service's state directory).
    public let stampPath: String

    /// Reads the destinations from the config; refuses a config without the demo references or without
    /// any input root.
    public init(config: BridgeConfig) throws {
        func entry(_ name: String, kind: String) throws -> ReferenceRegistry.Entry {
            guard let entry = config.references.entries[name], entry.kind == kind else {
                throw DemoDataError.missingReference(name: name, kind: kind, config: config.path)
            }
            return entry
        }
        let genomeEntry = try entry(Self.genomeName, kind: "genome")
        let transcriptomeEntry = try entry(Self.transcriptomeName, kind: "transcriptome")
        genome = DemoData.GenomeFiles(fasta: genomeEntry.files["fasta"]!, bwaIndex: genomeEntry.files["bwa_index"])
        transcriptome = DemoData.TranscriptomeFiles(
            fasta: transcriptomeEntry.files["fasta"]!, salmonIndex: transcriptomeEntry.files["salmon_index"]!,
            tx2gene: transcriptomeEntry.files["tx2gene"], annotation: transcriptomeEntry.files["annotation"])
        let groups = config.groups.values.sorted { $0.name < $1.name }
        readDirectories = groups.compactMap { group in
            group.inputRoots?.paths.first.map { ReadDirectory(group: group.name, directory: ($0 == "/" ? "" : $0) + "/demo") }
        }
        groupsWithoutInputRoots = groups.filter { $0.inputRoots?.paths.first == nil }.map(\.name)
        guard !readDirectories.isEmpty else { throw DemoDataError.noInputRoots(config: config.path) }
        stampPath = (config.storePath as NSString).deletingLastPathComponent + "/demo-data.stamp"
    }

    /// SHA-256 of the generator's version and every destination: a new version, or a config that moves
    /// anything, no longer matches the stamp.
    public var digest: String {
        var lines = ["version=\(DemoData.version)", "genome.fasta=\(genome.fasta)", "genome.bwa_index=\(genome.bwaIndex)",
                     "transcriptome.fasta=\(transcriptome.fasta)", "transcriptome.salmon_index=\(transcriptome.salmonIndex)",
                     "transcriptome.tx2gene=\(transcriptome.tx2gene ?? "")", "transcriptome.annotation=\(transcriptome.annotation ?? "")"]
        lines += readDirectories.map { "reads.\($0.group)=\($0.directory)" }
        return SHA256.hash(data: Data(lines.joined(separator: "\n").utf8)).hexString
    }

    private var stampHeader: String { "hpcbridge demo-data \(DemoData.version) \(digest)" }

    /// Whether the stamp matches this config and generator, and every file it lists is there with the
    /// size it was written with.
    public func isUpToDate() -> Bool {
        guard let stamp = try? String(contentsOfFile: stampPath, encoding: .utf8) else { return false }
        let lines = stamp.split(separator: "\n")
        guard lines.first.map(String.init) == stampHeader, lines.count > 1 else { return false }
        return lines.dropFirst().allSatisfy { line in
            let fields = line.split(separator: "\t", maxSplits: 1)
            guard fields.count == 2, let size = UInt64(fields[0]),
                  let attributes = try? FileManager.default.attributesOfItem(atPath: String(fields[1])) else { return false }
            return (attributes[.size] as? NSNumber)?.uint64Value == size
        }
    }

    /// What one run wrote.
    public struct Written: Sendable {
        public let genome: DemoData.GenomeFiles
        public let transcriptome: DemoData.TranscriptomeFiles
        public let cohorts: [(group: String, germline: DemoData.GermlineCohort, rnaSeq: DemoData.RNASeqCohort)]
    }

    /// What `install` did.
    public enum Outcome: Sendable {
        case upToDate
        case written(Written)
    }

    /// Writes the demo data unless the stamp says it is in place (`force` writes it regardless).
    public func install(force: Bool = false, data: DemoData = DemoData()) async throws -> Outcome {
        if !force && isUpToDate() { return .upToDate }
        let missing = DemoData.missingTools()
        guard missing.isEmpty else { throw DemoDataError.missingTools(missing) }
        try? FileManager.default.removeItem(atPath: stampPath)
        try await data.writeGenome(genome)
        try await data.writeTranscriptome(transcriptome)
        var cohorts: [(group: String, germline: DemoData.GermlineCohort, rnaSeq: DemoData.RNASeqCohort)] = []
        for reads in readDirectories {
            cohorts.append((reads.group, try data.writeGermlineCohort(in: reads.germline), try data.writeRNASeqCohort(in: reads.rnaSeq)))
        }
        var files = genome.files + [transcriptome.fasta] + [transcriptome.tx2gene, transcriptome.annotation].compactMap { $0 }
        files += Self.filesUnder(transcriptome.salmonIndex)
        files += cohorts.flatMap { $0.germline.files + $0.rnaSeq.files }
        var stamp = stampHeader + "\n"
        for file in files {
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.uint64Value ?? 0
            stamp += "\(size)\t\(file)\n"
        }
        try DemoData.write(Array(stamp.utf8), to: stampPath)
        return .written(Written(genome: genome, transcriptome: transcriptome, cohorts: cohorts))
    }

    /// The regular files under a directory (salmon's index), sorted.
    static func filesUnder(_ directory: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: directory)
        var files: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue { files.append(path) }
        }
        return files.sorted()
    }
}
