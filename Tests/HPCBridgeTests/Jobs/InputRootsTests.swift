import Foundation
import Testing
@testable import HPCBridge

/// A research group's input roots: which paths its requests may name, where the validator finds paths,
/// how the planner refuses the others, and what `hpcbridge validate` warns about.
@Suite("Jobs: input roots per research group")
struct InputRootsTests {
    @Test("containment is by whole path segments", arguments: [
        ("/data/lab", "/data/lab/run1/R1.fq", true),
        ("/data/lab", "/data/lab", true),
        ("/data/lab", "/data/lab/", true),
        ("/data/lab", "/data/lab_b/R1.fq", false),
        ("/data/lab", "/data/la", false),
        ("/data/lab", "/data", false),
        ("/", "/anything/at/all", true),
    ])
    func segments(root: String, path: String, contained: Bool) {
        #expect(InputRoots.isAncestor(root, of: path) == contained)
    }

    @Test("a path outside every root is refused with the roots named; a trailing slash on a root changes nothing")
    func outside() {
        let roots = InputRoots(["/data/lab/", "/scratch/shared"])
        #expect(roots.paths == ["/data/lab", "/scratch/shared"])
        let identity: InputRoots.Resolver = { $0 }
        #expect(roots.problem(with: "/data/lab/R1.fq", resolving: identity) == nil)
        #expect(roots.problem(with: "/scratch/shared/x/R1.fq", resolving: identity) == nil)
        let refused = roots.problem(with: "/data/other_lab/R1.fq", resolving: identity)
        #expect(refused?.contains("outside this research group's input roots (/data/lab, /scratch/shared)") == true, "\(refused ?? "nil")")
    }

    @Test("a symbolic link inside a root that leads out of every root is refused; one that stays inside is not")
    func symbolicLinks() throws {
        let base = try TestPaths.scratchDirectory("input-roots")
        let manager = FileManager.default
        for directory in ["/lab_a/runs", "/lab_b/secret", "/shared/genomes"] {
            try manager.createDirectory(atPath: base + directory, withIntermediateDirectories: true)
        }
        try TestPaths.write("@r\nACGT\n+\nIIII\n", to: base + "/lab_b/secret/R1.fq")
        try manager.createSymbolicLink(atPath: base + "/lab_a/escape", withDestinationPath: base + "/lab_b/secret")
        try manager.createSymbolicLink(atPath: base + "/lab_a/runs/latest", withDestinationPath: base + "/lab_a/runs")
        try manager.createSymbolicLink(atPath: base + "/lab_a/genomes", withDestinationPath: base + "/shared/genomes")
        // The base itself may sit behind a link (/tmp on some hosts): roots are compared resolved too.
        let roots = InputRoots([base + "/lab_a", base + "/shared"])

        let escaping = roots.problem(with: base + "/lab_a/escape/R1.fq")
        #expect(escaping?.contains("leads through a symbolic link to") == true, "\(escaping ?? "nil")")
        #expect(escaping?.contains("/lab_b/secret/R1.fq") == true)
        #expect(roots.problem(with: base + "/lab_a/escape/not_there_yet/R1.fq") != nil, "the part that exists is resolved, the rest appended")
        #expect(roots.problem(with: base + "/lab_a/runs/latest/R1.fq") == nil, "a link that stays inside the root")
        #expect(roots.problem(with: base + "/lab_a/genomes/hg38.fa") == nil, "a link into another root of the same group")
        #expect(roots.problem(with: base + "/lab_a/missing/dir/R1.fq") == nil, "a path that does not exist yet is checked as written")
    }

    @Test("resolving keeps the missing tail as written and resolves the existing prefix")
    func resolveExistingPrefix() throws {
        let base = try TestPaths.scratchDirectory("input-roots-resolve")
        try FileManager.default.createDirectory(atPath: base + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: base + "/link", withDestinationPath: base + "/real")
        let resolvedBase = InputRoots.resolveExistingPrefix(base)
        #expect(InputRoots.resolveExistingPrefix(base + "/link/a/b.fq") == resolvedBase + "/real/a/b.fq")
        #expect(InputRoots.resolveExistingPrefix(base + "/link") == resolvedBase + "/real")
        #expect(InputRoots.resolveExistingPrefix("/no_such_top_level_dir/x") == "/no_such_top_level_dir/x")
        #expect(InputRoots.resolveExistingPrefix("/") == "/")
    }

    @Test("the validator reports strings accepted as paths, not those accepted as s3:// URIs")
    func validatorFindsPaths() throws {
        let pipeline = try #require(TestSite.shipped.catalog.pipelines["rnaseq_deseq2"])
        func sample(_ id: String, _ files: [String]) -> JSONValue { ["sample_id": .string(id), "fastq_files": .array(files.map { .string($0) })] }
        let result = pipeline.validate(parameters: [
            "sample_id": "paths", "reference": "gencode_v38",
            "design": [
                ["condition": "control", "samples": [sample("c1", ["/data/x/c1_R1.fq.gz", "s3://bucket/c1_R2.fq.gz"]), sample("c2", ["/data/x/c2.fq"])]],
                ["condition": "treated", "samples": [sample("t1", ["s3://bucket/t1.fq"]), sample("t2", ["/data/x/t2.fq"])]],
            ],
        ])
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.paths.map(\.description) == ["/design/0/samples/0/fastq_files/0", "/design/0/samples/1/fastq_files/0",
                                                     "/design/1/samples/1/fastq_files/0"])
    }

    @Test("the planner refuses every input outside the group's roots at its pointer, and the shipped examples pass")
    func planner() throws {
        let planner = JobPlanner(site: TestSite.shipped, resolver: { $0 })
        for example in ["gatk_variant_calling", "rnaseq_deseq2", "rnaseq_deseq2_design"] {
            _ = try planner.plan(try TestSite.example(example), jobID: TestSite.jobID)
        }
        var document = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: TestPaths.examples + "/gatk_variant_calling.json")))
        document = document.replacing(at: ["parameters", "fastq_r2"], with: "/data/systems_biology_lab/liver/liver_m17_R2.fastq.gz")
            .replacing(at: ["parameters", "intervals"], with: "/etc/exome.bed")
        let request = try JobRequest(document: document)
        do {
            _ = try planner.plan(request, jobID: TestSite.jobID)
            Issue.record("another group's reads were accepted")
        } catch {
            guard case .invalid(let failure) = error else { Issue.record("expected a validation failure, got \(error)"); return }
            #expect(failure.errors.map(\.pointer.description) == ["/parameters/fastq_r2", "/parameters/intervals"])
            #expect(failure.errors.allSatisfy { $0.message.contains("outside this research group's input roots (/data/cancer_genomics_lab)") })
        }
    }

    @Test("validate warns about a group without roots and about roots that hold another group's data")
    func warnings() throws {
        func warnings(_ edits: [(String, String)]) throws -> [String] {
            let directory = try TestPaths.scratchDirectory("input-roots-config")
            let config = try TestPaths.shippedConfig()
            try TestPaths.write(edits.reduce(config) { $0.replacingOccurrences(of: $1.0, with: $1.1) }, to: directory + "/hpcbridge.yaml")
            return try Site.load(configPath: directory + "/hpcbridge.yaml").warnings.map(\.message).filter { $0.contains("input") }
        }
        let wide = try warnings([("input_roots: [/data/cancer_genomics_lab]", "input_roots: [/data, /var/lib/hpcbridge/runs]")])
        #expect(wide.sorted() == [
            "input root /data of research group cancer_genomics_lab holds input root /data/systems_biology_lab of research group systems_biology_lab: its jobs can read that group's inputs",
            "input root /var/lib/hpcbridge/runs of research group cancer_genomics_lab holds the run root of research group systems_biology_lab (/var/lib/hpcbridge/runs/systems_biology_lab): its jobs can read that group's results",
        ])
        let unconfined = try warnings([("    input_roots: [/data/systems_biology_lab]", "    #")])
        #expect(unconfined.count == 1, "\(unconfined)")
        #expect(unconfined.first?.hasPrefix("research group systems_biology_lab has no input_roots, so its jobs (rnaseq_deseq2) may read any file") == true)

        let shipped = TestSite.shipped.warnings.map(\.message).filter { $0.contains("input") }
        #expect(shipped.isEmpty, "the shipped config confines each group to its own data: \(shipped)")
    }
}
