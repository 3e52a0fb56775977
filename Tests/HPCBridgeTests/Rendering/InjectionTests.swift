import Foundation
import Testing
@testable import HPCBridge

/// A sandbox in which rendered scripts really run: the shipped templates and catalogs, references and
/// run directories under a scratch directory, and recording stand-ins for the bioinformatics tools on
/// PATH (each writes its argv, NUL-separated, to a file and succeeds). The stand-ins let every line of
/// a script run without real data; what is tested is the shell around them.
struct InjectionSandbox {
    let root: String
    let site: Site
    var marker: String { root + "/pwned" }
    var calls: String { root + "/calls" }

    static let tools = ["bwa", "samtools", "gatk", "bcftools", "fastp", "salmon", "Rscript", "aws"]

    init() throws {
        root = try TestPaths.scratchDirectory("injection")
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        for tool in Self.tools {
            let path = root + "/bin/\(tool)"
            try TestPaths.write("#!/bin/bash\nf=\"$(mktemp \"$HB_TEST_CALLS/call.XXXXXX\")\"\nprintf '%s\\0' \"${0##*/}\" \"$@\" > \"$f\"\nexit 0\n", to: path)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        try TestPaths.write(try TestPaths.shippedConfig(scratch: root, extraInputRoot: root + "/inputs"), to: root + "/hpcbridge.yaml")
        for directory in ["ref/gencode_v38/salmon_index", "runs", "calls", "inputs"] {
            try fm.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        for file in ["ref/hg38/hg38.fa", "ref/gencode_v38/tx2gene.tsv"] { try TestPaths.write(">x\nACGT\n", to: root + "/" + file) }
        site = try Site.load(configPath: root + "/hpcbridge.yaml")
    }

    /// An input file whose absolute path ends in `name` (created, with parent directories, when the
    /// file system allows the name), so a script gets past its input checks.
    func input(_ name: String) -> String {
        let path = root + "/inputs/" + name
        try? TestPaths.write("@r\nACGT\n+\nIIII\n", to: path)
        return path
    }

    /// What one execution left behind.
    struct Outcome {
        let status: Int32
        let stderr: String
        let calls: [[String]]
        let exitCodeFile: String?
        let manifest: String?
    }

    /// Runs a rendered script with bash, as the scheduler would, and collects what happened.
    func execute(_ script: RenderedScript) async throws -> Outcome {
        let fm = FileManager.default
        for call in try fm.contentsOfDirectory(atPath: calls) { try fm.removeItem(atPath: calls + "/" + call) }
        try fm.createDirectory(atPath: script.runDirectory, withIntermediateDirectories: true)
        let scriptFile = root + "/job.sh"
        try script.text.write(toFile: scriptFile, atomically: true, encoding: .utf8)
        let result = try await run("/bin/bash", [scriptFile],
                             environment: ["PATH": root + "/bin:/usr/bin:/bin", "HB_TEST_CALLS": calls, "HOME": root],
                             directory: root)
        let recorded = try fm.contentsOfDirectory(atPath: calls).sorted().map { name -> [String] in
            let data = try Data(contentsOf: URL(fileURLWithPath: calls + "/" + name))
            return data.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        }
        return Outcome(status: result.status, stderr: result.stderr, calls: recorded,
                       exitCodeFile: try? String(contentsOfFile: script.exitCodePath, encoding: .utf8),
                       manifest: try? String(contentsOfFile: script.manifestPath, encoding: .utf8))
    }
}

/// Values that try to escape into the shell. Each would create the marker file if it ran.
func injectionCorpus(marker m: String) -> [(name: String, value: String)] {
    [
        ("newline", "a\nb; touch \(m)"),
        ("carriage return", "a\rtouch \(m)"),
        ("command substitution", "$(touch \(m))"),
        ("backticks", "`touch \(m)`"),
        ("semicolon", "x; touch \(m)"),
        ("and-and", "x && touch \(m)"),
        ("single quote breakout", "x' ; touch \(m) ; echo '"),
        ("escaped single quote breakout", "'\\''$(touch \(m))'\\''"),
        ("double quote breakout", "x\" ; touch \(m) ; echo \""),
        ("backslashes", "x\\'; touch \(m); #\\"),
        ("escaped dollar", "\\$(touch \(m))"),
        ("directive smuggling", "x\n#SBATCH --wrap=touch\ntouch \(m)"),
        ("arithmetic", "$((1+1))$(touch \(m))"),
        ("process substitution and redirection", "<(touch \(m)) >\(m)"),
        ("glob and tilde", "~/*$(touch \(m))*"),
        ("printf format", "%s%n%x%%$(touch \(m))"),
        ("non-ASCII and bidi override", "ünïcødé 🧬 \u{202E}$(touch \(m))"),
        ("line separator", "a\u{2028}touch \(m)"),
        ("leading dash", "-rf --output=\(m)"),
        ("very long", String(repeating: "A", count: 100_000) + "$(touch \(m))"),
    ]
}

@Suite("Injection: no value runs as shell", .serialized)
struct InjectionTests {
    let sandbox: InjectionSandbox

    init() throws { sandbox = try InjectionSandbox() }

    /// Renders `parameters` for a pipeline without validation (the renderer must be safe on its own),
    /// runs the script, and checks that the marker file was never created.
    func attempt(pipeline: String, group: String, parameters: JSONValue, description: String? = nil, label: String) async throws -> InjectionSandbox.Outcome? {
        let request = ScriptRequest(
            jobID: UUID(), pipeline: try sandbox.site.catalog.pipeline(named: pipeline), parameters: parameters,
            group: sandbox.site.config.groups[group]!, description: description,
            resources: try sandbox.site.catalog.pipeline(named: pipeline).resources.defaults, scheduler: .slurm)
        let script: RenderedScript
        do {
            script = try sandbox.site.renderer.render(request)
        } catch let error as RenderError {
            // Refusing to render is safe; the only acceptable reasons are the documented ones.
            switch error {
            case .nulByte, .unsafeOutputPath: return nil
            default: throw error
            }
        }
        let syntax = try await run("/bin/bash", ["-n"], input: Data(script.text.utf8))
        #expect(syntax.status == 0, "\(label): bash -n failed: \(syntax.stderr)")
        let outcome = try await sandbox.execute(script)
        #expect(!FileManager.default.fileExists(atPath: sandbox.marker), "\(label): the injected command ran")
        try? FileManager.default.removeItem(atPath: sandbox.marker)
        #expect(outcome.exitCodeFile == "\(outcome.status)\n", "\(label): exit-code file \(String(describing: outcome.exitCodeFile)) for status \(outcome.status)")
        if let manifest = outcome.manifest {
            #expect((try? JSONValue.parse(manifest)) != nil, "\(label): manifest is not JSON: \(manifest)")
        } else {
            Issue.record("\(label): no manifest was written")
        }
        return outcome
    }

    func gatkParameters(_ change: (inout [String: JSONValue]) -> Void) -> JSONValue {
        var p: [String: JSONValue] = [
            "sample_id": "S1", "reference_genome": "hg38",
            "fastq_r1": .string(sandbox.input("S1_R1.fastq.gz")), "fastq_r2": .string(sandbox.input("S1_R2.fastq.gz")),
            "caller": "HaplotypeCaller", "quality_threshold": 30, "depth_threshold": 10, "min_base_quality": 10,
            "standard_min_confidence": 30, "emit_ref_confidence": "NONE",
        ]
        change(&p)
        return .object(p)
    }

    func designParameters(condition: String = "control", sample: String = "ctrl_1", fastq: String? = nil, adapter: String? = nil, study: String = "study") -> JSONValue {
        func sampleEntry(_ id: String, _ file: String) -> JSONValue { .object(["sample_id": .string(id), "fastq_files": .array([.string(file)])]) }
        var p: [String: JSONValue] = [
            "sample_id": .string(study), "reference": "gencode_v38", "min_quality": 15, "quantification_method": "salmon", "library_type": "A",
            "design": .array([
                .object(["condition": .string(condition), "samples": .array([sampleEntry(sample, fastq ?? sandbox.input("c1.fq")), sampleEntry("ctrl_2", sandbox.input("c2.fq"))])]),
                .object(["condition": "treated", "samples": .array([sampleEntry("t_1", sandbox.input("t1.fq")), sampleEntry("t_2", sandbox.input("t2.fq"))])]),
            ]),
        ]
        if let adapter { p["adapter_sequence"] = .string(adapter) }
        return .object(p)
    }

    @Test("the clean scripts run to the end with every tool called")
    func baseline() async throws {
        let gatk = try #require(try await attempt(pipeline: "gatk_variant_calling", group: "cancer_genomics_lab", parameters: gatkParameters { _ in }, label: "gatk"))
        #expect(gatk.status == 0, "\(gatk.stderr)")
        let tools = Dictionary(grouping: gatk.calls.map { $0[0] }, by: { $0 }).mapValues(\.count)
        #expect(tools == ["bwa": 1, "samtools": 2, "gatk": 2, "bcftools": 1])
        #expect(gatk.manifest?.contains(#""exit_code":0"#) == true)
        let rnaseq = try #require(try await attempt(pipeline: "rnaseq_deseq2", group: "systems_biology_lab", parameters: designParameters(), label: "rnaseq"))
        #expect(rnaseq.status == 0, "\(rnaseq.stderr)")
        #expect(rnaseq.calls.filter { $0.first == "salmon" }.count == 4)
        #expect(rnaseq.calls.contains { $0.first == "Rscript" })
    }

    @Test("values in path parameters reach the tools as one intact argument")
    func pathParameters() async throws {
        for (name, payload) in injectionCorpus(marker: sandbox.marker) {
            let r1 = sandbox.input("r1/" + payload + ".fastq.gz")
            guard let outcome = try await attempt(pipeline: "gatk_variant_calling", group: "cancer_genomics_lab",
                                            parameters: gatkParameters { $0["fastq_r1"] = .string(r1) }, label: "fastq_r1 \(name)") else { continue }
            if FileManager.default.fileExists(atPath: r1), !payload.contains("\0") {
                #expect(outcome.calls.contains { $0.first == "bwa" && $0.contains(r1) }, "fastq_r1 \(name): bwa did not get the path intact")
            }
        }
    }

    @Test("values in optional parameters and the description stay inert")
    func optionalParameters() async throws {
        for (name, payload) in injectionCorpus(marker: sandbox.marker) {
            let intervals = sandbox.input("iv/" + payload + ".bed")
            guard let outcome = try await attempt(pipeline: "gatk_variant_calling", group: "cancer_genomics_lab",
                                            parameters: gatkParameters { $0["intervals"] = .string(intervals) },
                                            description: payload, label: "intervals+description \(name)") else { continue }
            if FileManager.default.fileExists(atPath: intervals) {
                #expect(outcome.calls.contains { $0.first == "gatk" && $0.contains(intervals) }, "intervals \(name): gatk did not get -L intact")
            }
        }
    }

    @Test("values in identifiers, enums and nested design entries stay inert")
    func identifiers() async throws {
        for (name, payload) in injectionCorpus(marker: sandbox.marker) {
            if let outcome = try await attempt(pipeline: "rnaseq_deseq2", group: "systems_biology_lab",
                                         parameters: designParameters(sample: payload), label: "design sample_id \(name)"),
               payload.count < 200 {
                #expect(outcome.calls.contains { $0.first == "salmon" && $0.contains("quant/" + payload) }, "design sample_id \(name): salmon did not get -o intact")
            }
            if let outcome = try await attempt(pipeline: "rnaseq_deseq2", group: "systems_biology_lab",
                                         parameters: designParameters(adapter: payload), label: "adapter \(name)") {
                #expect(outcome.calls.contains { $0.first == "fastp" && $0.contains(payload) }, "adapter \(name): fastp did not get it intact")
            }
            _ = try await attempt(pipeline: "rnaseq_deseq2", group: "systems_biology_lab", parameters: designParameters(condition: payload, study: payload), label: "condition+study \(name)")
            _ = try await attempt(pipeline: "gatk_variant_calling", group: "cancer_genomics_lab",
                            parameters: gatkParameters { $0["caller"] = .string(payload); $0["emit_ref_confidence"] = .string(payload) }, label: "enums \(name)")
        }
    }

    @Test("a NUL byte is refused before any template runs")
    func nul() async throws {
        let request = ScriptRequest(
            jobID: UUID(), pipeline: try sandbox.site.catalog.pipeline(named: "gatk_variant_calling"),
            parameters: gatkParameters { $0["fastq_r1"] = "/data/a\u{0}b.fq" }, group: sandbox.site.config.groups["cancer_genomics_lab"]!,
            description: nil, resources: ResourceRequest(cpus: 1, memoryMB: 1024, timeLimitSeconds: 600), scheduler: .slurm)
        #expect(throws: RenderError.nulByte(pointer: "/fastq_r1")) { try sandbox.site.renderer.render(request) }
    }

    @Test("validation rejects every corpus value in the shipped pipelines' string parameters")
    func validationFirst() async throws {
        let pipeline = try sandbox.site.catalog.pipeline(named: "gatk_variant_calling")
        for (name, payload) in injectionCorpus(marker: sandbox.marker) {
            for field in ["sample_id", "fastq_r1", "intervals", "caller"] {
                let result = pipeline.validate(parameters: gatkParameters { $0[field] = .string(payload) })
                #expect(result.errors.contains { $0.pointer.description == "/" + field }, "\(field) accepted \(name)")
            }
        }
    }
}
