import Foundation
import Testing
@testable import HPCBridge

@Suite("Catalog and config loading")
struct CatalogLoadTests {
    static let validPipeline = """
    name: tiny
    version: 1.0.0
    description: A tiny pipeline for tests.
    template: pipelines/tiny.mustache
    resources:
      defaults: {cpus: 1, memory: 1G, time_limit: "00:10:00"}
      bounds:
        cpus: {min: 1, max: 4}
        memory: {max: 4G}
        time_limit: {max: "01:00:00"}
    outputs:
      - name: result
        path: "{{params.sample_id}}.txt"
        description: The result
    parameters:
      type: object
      additionalProperties: false
      required: [sample_id]
      properties:
        sample_id:
          type: string
          pattern: "^[A-Za-z0-9]+$"
    """

    /// Writes catalog files into a new directory and loads it, returning the error lines.
    func loadErrors(_ files: [String: String]) throws -> [String] {
        let directory = try TestPaths.scratchDirectory("catalog")
        for (name, text) in files { try TestPaths.write(text, to: directory + "/" + name) }
        do {
            _ = try PipelineCatalog.load(directory: directory)
            Issue.record("expected the catalog to be refused")
            return []
        } catch let error as LoadError {
            return error.issues.map { $0.description.replacingOccurrences(of: directory + "/", with: "") }
        }
    }

    @Test("the shipped catalogs load")
    func shipped() throws {
        let catalog = try PipelineCatalog.load(directory: TestPaths.catalog)
        #expect(catalog.pipelines.keys.sorted() == ["gatk_variant_calling", "germline_cohort", "rnaseq_cohort", "rnaseq_deseq2"])
    }

    @Test("a typo in a schema keyword names file, line and column")
    func typoPosition() throws {
        let text = Self.validPipeline.replacingOccurrences(of: "      pattern: \"^[A-Za-z0-9]+$\"", with: "      pattern: \"^[A-Za-z0-9]+$\"\n      maxLenght: 10")
        let lines = try loadErrors(["tiny.yaml": text])
        #expect(lines == ["tiny.yaml:23:7: unknown keyword \"maxLenght\" (did you mean \"maxLength\"?); hpcbridge rejects unknown keywords so that a typo cannot loosen validation"])
    }

    @Test("a typo in the catalog structure names its position")
    func structureTypo() throws {
        let text = Self.validPipeline.replacingOccurrences(of: "description: A tiny", with: "descripton: A tiny")
        let lines = try loadErrors(["tiny.yaml": text])
        #expect(lines.contains("tiny.yaml:3:1: \"descripton\" is not a known parameter (did you mean \"description\"?)"))
        #expect(lines.contains("tiny.yaml: \"description\" is required but missing") || lines.contains { $0.hasPrefix("tiny.yaml:1:1: \"description\" is required") })
    }

    @Test("YAML syntax errors carry line and column")
    func syntax() throws {
        let lines = try loadErrors(["tiny.yaml": "name: tiny\nversion: [1.0\n"])
        #expect(lines.count == 1)
        #expect(lines[0].hasPrefix("tiny.yaml:3:1: YAML syntax error"), "\(lines)")
    }

    @Test("duplicate keys are refused")
    func duplicateKeys() throws {
        let lines = try loadErrors(["tiny.yaml": Self.validPipeline + "\nname: again\n"])
        #expect(lines.contains { $0.contains("appear") && $0.contains("twice") }, "\(lines)")
    }

    @Test("one broken file stops the whole catalog, with every file's problems")
    func neverHalfLoads() throws {
        let broken = Self.validPipeline.replacingOccurrences(of: "name: tiny", with: "name: other")
            .replacingOccurrences(of: "cpus: 1,", with: "cpus: 9,")
        let lines = try loadErrors(["tiny.yaml": Self.validPipeline, "other.yaml": broken])
        #expect(lines.contains { $0.hasPrefix("other.yaml:6:") && $0.contains("outside resources.bounds.cpus") }, "\(lines)")
    }

    @Test("the pipeline name must match its file name")
    func nameMatchesFile() throws {
        let lines = try loadErrors(["tiny2.yaml": Self.validPipeline])
        #expect(lines == ["tiny2.yaml:1:1: the pipeline is named \"tiny\" but its file is tiny2.yaml; rename one so they match"])
    }

    @Test("YAML 1.2 scalars: NO and on stay text, 1.0 is a number")
    func scalars() throws {
        let document = try YAMLDocument(text: "a: NO\nb: on\nc: 1.0\nd: '5'\ne: true\nf: ~\ng: 0x1F\n", path: "x.yaml")
        #expect(document.value == .object(["a": .string("NO"), "b": .string("on"), "c": .number(1), "d": .string("5"),
                                           "e": .bool(true), "f": .null, "g": .number(31)]))
    }

    @Test("config cross-references are checked with positions")
    func configErrors() throws {
        let directory = try TestPaths.scratchDirectory("config")
        var text = try String(contentsOfFile: TestPaths.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "    account: systems_biology_lab\n", with: "    account: \"systems biology; rm -rf /\"\n")
        text = text.replacingOccurrences(of: "    cluster: dev\n    account: cancer_genomics_lab", with: "    cluster: devv\n    account: cancer_genomics_lab")
        try TestPaths.write(text, to: directory + "/hpcbridge.yaml")
        do {
            _ = try BridgeConfig.load(path: directory + "/hpcbridge.yaml")
            Issue.record("expected the config to be refused")
        } catch let error as LoadError {
            let lines = error.issues.map { $0.description.replacingOccurrences(of: directory + "/", with: "") }
            #expect(lines.contains { $0.hasPrefix("hpcbridge.yaml:") && $0.contains("\"account\" must be 1-64 letters") }, "\(lines)")
        }
        text = text.replacingOccurrences(of: "    account: \"systems biology; rm -rf /\"\n", with: "    account: systems_biology_lab\n")
        try TestPaths.write(text, to: directory + "/hpcbridge.yaml")
        do {
            _ = try BridgeConfig.load(path: directory + "/hpcbridge.yaml")
            Issue.record("expected the config to be refused")
        } catch let error as LoadError {
            let lines = error.issues.map { $0.description.replacingOccurrences(of: directory + "/", with: "") }
            #expect(lines.count == 1)
            #expect(lines.first?.contains("names cluster \"devv\", which is not under clusters (did you mean \"dev\"?)") == true, "\(lines)")
        }
    }

    @Test("catalog reference enums are checked against the registry")
    func registryCrossCheck() throws {
        let directory = try TestPaths.scratchDirectory("site")
        let copied = try TestPaths.copyCatalogs(to: directory + "/pipelines")
        let gatk = try #require(copied["gatk_variant_calling"])
        let catalogText = try String(contentsOfFile: gatk, encoding: .utf8)
            .replacingOccurrences(of: "enum: [hg19, hg38, GRCh37, GRCh38, demo_genome]", with: "enum: [hg19, hg38, GRCh37, GRCh38, demo_genome, hg39]")
        try TestPaths.write(catalogText, to: gatk)
        let config = try String(contentsOfFile: TestPaths.config, encoding: .utf8)
            .replacingOccurrences(of: "templates: ../templates", with: "templates: \(TestPaths.root)/templates")
        try TestPaths.write(config, to: directory + "/hpcbridge.yaml")
        do {
            _ = try Site.load(configPath: directory + "/hpcbridge.yaml")
            Issue.record("expected the site to be refused")
        } catch let error as LoadError {
            #expect(error.issues.count == 1)
            #expect(error.issues[0].description.contains("gatk_variant_calling.yaml:"))
            #expect(error.issues[0].message.contains("offers genome \"hg39\", which the reference registry"), "\(error)")
        }
    }

    @Test("resource overrides are checked against the pipeline's bounds")
    func resources() throws {
        let pipeline = try PipelineCatalog.loadPipeline(path: TestPaths.catalog + "/gatk_variant_calling.yaml")
        let ok = try pipeline.resources.resolve(overrides: JSONValue.parse(#"{"cpus": 8, "memory": "32G", "time_limit": "1-00:00:00"}"#)).get()
        #expect(ok == ResourceRequest(cpus: 8, memoryMB: 32768, timeLimitSeconds: 86400))
        guard case .failure(let failure) = pipeline.resources.resolve(overrides: try JSONValue.parse(#"{"cpus": 64, "memory": "1T", "time_limit": "soon", "partition": "gpu"}"#)) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(failure.errors.map(\.pointer.description) == ["/cpus", "/memory", "/partition", "/time_limit"])
    }

    @Test("Slurm time and memory spellings", arguments: [
        ("90", 5400), ("08:00:00", 28800), ("2-00:00:00", 172800), ("1-12", 129600), ("10:30", 630), ("0", -1), ("abc", -1),
    ])
    func timeLimits(text: String, seconds: Int) {
        #expect(ResourceQuantities.seconds(text) ?? -1 == seconds)
    }
}

@Suite("Service config defaults and overrides")
struct ServiceConfigTests {
    @Test("defaults inside named entries are applied (cluster mode, quotas)")
    func defaults() throws {
        let directory = try TestPaths.scratchDirectory("config")
        let text = try String(contentsOfFile: TestPaths.config, encoding: .utf8)
            .replacingOccurrences(of: "    mode: auto\n", with: "")
            .replacingOccurrences(of: "    quotas: {max_active_jobs: 100, submissions_per_minute: 60}\n", with: "")
            .replacingOccurrences(of: "listen: 127.0.0.1:8080", with: "")
        try TestPaths.write(text, to: directory + "/hpcbridge.yaml")
        let config = try BridgeConfig.load(path: directory + "/hpcbridge.yaml")
        #expect(config.clusters["dev"]?.mode == .auto)
        #expect(config.groups["systems_biology_lab"]?.maxActiveJobs == 100)
        #expect(config.groups["systems_biology_lab"]?.submissionsPerMinute == 60)
        #expect(config.groups["cancer_genomics_lab"]?.maxActiveJobs == 200)
        #expect(config.listen == "127.0.0.1:8080")
        // relative to the config file's folder, with ".." resolved
        #expect(config.storePath == URL(fileURLWithPath: directory).deletingLastPathComponent().appendingPathComponent("var/hpcbridge.sqlite").path)
    }
}
