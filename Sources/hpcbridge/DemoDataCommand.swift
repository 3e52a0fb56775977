import ArgumentParser
import Foundation
import HPCBridge

/// `hpcbridge demo-data`: the tiny demo references and reads the example requests name, written where the
/// config says, so a newcomer's first requests complete on a fresh machine.
struct DemoDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-data",
        abstract: "Write the tiny demo references and read sets the example requests use (idempotent).",
        discussion: """
        Writes the registry entries demo_genome (FASTA, BWA index, faidx) and demo_transcriptome (FASTA, salmon \
        index, tx2gene, annotation) at the paths the config names, and under each research group's first input \
        root demo/germline (four samples with planted variants, germline_samples.csv) and demo/rnaseq (two control, \
        two treated samples, geneB ten times up in treated, rnaseq_samples.csv). A stamp beside the job store \
        makes a second run a no-op. Needs bwa, samtools and salmon on PATH.
        Exit status: 0 written, or already in place; 1 the config lacks demo_genome, demo_transcriptome or any \
        input root; 2 the config does not load; 3 bwa, samtools or salmon is missing; 4 a tool failed or a file \
        could not be written.
        """)

    @Option(name: .long, help: ArgumentHelp("Service config file (default: $HPCBRIDGE_CONFIG or config/hpcbridge.yaml).", valueName: "FILE"))
    var config: String?

    @Flag(name: .long, help: "Write everything again even when the stamp says it is in place.")
    var force = false

    func run() async throws {
        let path = config ?? Site.defaultConfigPath
        let loaded: BridgeConfig
        do { loaded = try BridgeConfig.load(path: path) } catch {
            printError("\(error)")
            throw ExitStatus.unreadable
        }
        do {
            let installer = try DemoDataInstaller(config: loaded)
            let clock = ContinuousClock()
            let start = clock.now
            switch try await installer.install(force: force) {
            case .upToDate:
                print("demo-data: already in place (\(installer.stampPath) matches); nothing written (--force writes it again)")
            case .written(let written):
                let seconds = String(format: "%.1f", (clock.now - start).inSeconds)
                print("demo-data: wrote the demo references and reads in \(seconds) s (stamp \(installer.stampPath))")
                print("  \(DemoDataInstaller.genomeName): \(written.genome.fasta) (+ .fai), BWA index \(written.genome.bwaIndex)")
                print("  \(DemoDataInstaller.transcriptomeName): \(written.transcriptome.fasta), salmon index \(written.transcriptome.salmonIndex)"
                      + (written.transcriptome.tx2gene.map { ", tx2gene \($0)" } ?? ""))
                for cohort in written.cohorts {
                    print("  \(cohort.group): germline cohort \(cohort.germline.sampleSheet) (\(cohort.germline.samples.map(\.id).joined(separator: ", ")))")
                    print("  \(cohort.group): RNA-seq cohort \(cohort.rnaSeq.sampleSheet) (\(cohort.rnaSeq.samples.map { "\($0.id) \($0.condition)" }.joined(separator: ", ")))")
                }
                for group in installer.groupsWithoutInputRoots {
                    print("  \(group): no input_roots, so no reads of its own; its jobs may read the other groups' copies")
                }
            }
        } catch let error as DemoDataError {
            printError("demo-data: \(error)")
            switch error {
            case .missingReference, .noInputRoots: throw ExitStatus.invalid
            case .missingTools: throw ExitCode(3)
            case .toolFailed, .cannotWrite: throw ExitCode(4)
            }
        }
    }
}
