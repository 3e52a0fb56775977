import Foundation
import Testing
@testable import HPCBridge

/// The `hpcbridge` executable as users call it: exit statuses, output formats, usage errors.
@Suite("Command line")
struct CLITests {
    /// The built executable sits next to the test bundle.
    static let executable: String = {
        let directory = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
        return directory.appendingPathComponent("hpcbridge").path
    }()

    func hpcbridge(_ arguments: String...) async throws -> ProcessResult {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable), "build the hpcbridge product first (swift build --build-tests)")
        return try await run(Self.executable, arguments, directory: TestPaths.root)
    }

    @Test("validate passes on the shipped config, catalogs and templates")
    func validateShipped() async throws {
        let result = try await hpcbridge("validate")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.hasPrefix("ok: config/hpcbridge.yaml: 2 research groups"))
    }

    @Test("token hash prints the SHA-256 the config takes; a duplicated or malformed hash fails validate")
    func tokenHashes() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable))
        let token = "a-token-from-the-site-secret-store-0123456789"
        let hashed = try await run(Self.executable, ["token", "hash"], input: Data(token.utf8))
        #expect(hashed.status == 0)
        let hash = hashed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash == APITokens.configHash(of: token) && hash.count == 64)
        #expect(try await run(Self.executable, ["token", "hash"], input: Data("short".utf8)).status == 1)

        let directory = try TestPaths.scratchDirectory("cli-tokens")
        let config = try TestPaths.shippedConfig()
            .replacingOccurrences(of: "quotas: {max_active_jobs: 200", with: "token_sha256: [\(hash)]\n    quotas: {max_active_jobs: 200")
            .replacingOccurrences(of: "quotas: {max_active_jobs: 100", with: "token_sha256: [\(hash)]\n    quotas: {max_active_jobs: 100")
        try TestPaths.write(config, to: directory + "/hpcbridge.yaml")
        let duplicated = try await run(Self.executable, ["validate", "--config", directory + "/hpcbridge.yaml"])
        #expect(duplicated.status == 1)
        #expect(duplicated.stdout.range(of: #"hpcbridge\.yaml:\d+:\d+: declares a token hash that research group "cancer_genomics_lab" also declares; give each group its own token"#,
                                        options: .regularExpression) != nil, "\(duplicated.stdout)")
        var environment = ProcessInfo.processInfo.environment
        environment["HPCBRIDGE_ADMIN_TOKEN_SHA256"] = token
        let secretInsteadOfHash = try await run(Self.executable, ["validate"], environment: environment, directory: TestPaths.root)
        #expect(secretInsteadOfHash.status == 1)
        #expect(secretInsteadOfHash.stdout.contains("$HPCBRIDGE_ADMIN_TOKEN_SHA256"), "\(secretInsteadOfHash.stdout)")
        #expect(!secretInsteadOfHash.stdout.contains(token), "the message does not repeat a secret put in the wrong place")
    }

    @Test("validate exits 1 with file:line:column lines for a broken catalog")
    func validateBroken() async throws {
        let directory = try TestPaths.scratchDirectory("cli")
        let text = try String(contentsOfFile: TestPaths.catalog + "/gatk_variant_calling.yaml", encoding: .utf8)
            .replacingOccurrences(of: "      minimum: 0\n      default: 30\n", with: "      minimun: 0\n      default: 30\n")
        try TestPaths.write(text, to: directory + "/gatk_variant_calling.yaml")
        try TestPaths.write(try String(contentsOfFile: TestPaths.catalog + "/rnaseq_deseq2.yaml", encoding: .utf8), to: directory + "/rnaseq_deseq2.yaml")
        let result = try await hpcbridge("validate", "--catalog", directory)
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        // quality_threshold and standard_min_confidence both had "minimum: 0" followed by "default: 30"
        #expect(lines.count == 2)
        for line in lines {
            #expect(line.range(of: #"gatk_variant_calling\.yaml:\d+:7: unknown keyword "minimun" \(did you mean "minimum"\?\)"#, options: .regularExpression) != nil, "\(lines)")
        }
    }

    @Test("check-params: 0 for the seed examples, 1 with pointer lines, 2 for unreadable input")
    func checkParams() async throws {
        #expect(try await hpcbridge("check-params", "gatk_variant_calling", "config/examples/gatk_variant_calling.json").status == 0)
        #expect(try await hpcbridge("check-params", "rnaseq_deseq2", "config/examples/rnaseq_deseq2.json").status == 0)
        #expect(try await hpcbridge("check-params", "rnaseq_deseq2", "config/examples/rnaseq_deseq2_design.json").status == 0)

        let directory = try TestPaths.scratchDirectory("cli")
        try TestPaths.write(#"{"sample_id": "S 1", "reference_genome": "hg38", "fastq_r1": "/d/r1.fq", "fastq_r2": "/d/r2.fq", "depth_threshold": "10"}"#, to: directory + "/p.json")
        let invalid = try await hpcbridge("check-params", "gatk_variant_calling", directory + "/p.json")
        #expect(invalid.status == 1)
        #expect(invalid.stdout.split(separator: "\n").map { String($0.prefix { $0 != ":" }) } == ["/depth_threshold", "/sample_id"])

        try TestPaths.write("{\"sample_id\": ", to: directory + "/broken.json")
        let broken = try await hpcbridge("check-params", "gatk_variant_calling", directory + "/broken.json")
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("not valid JSON"))
        #expect(try await hpcbridge("check-params", "gatk_variant_calling", directory + "/missing.json").status == 2)
        #expect(try await hpcbridge("check-params", "gatk_variant_calling_x", "config/examples/gatk_variant_calling.json").status == 2)
    }

    @Test("check-params --schema validates any JSON value")
    func checkParamsSchema() async throws {
        let directory = try TestPaths.scratchDirectory("cli")
        try TestPaths.write(#"{"type": "integer", "minimum": 1}"#, to: directory + "/s.json")
        try TestPaths.write("10000.0", to: directory + "/ok.json")
        try TestPaths.write("true", to: directory + "/bad.json")
        #expect(try await hpcbridge("check-params", "--schema", directory + "/s.json", directory + "/ok.json").status == 0)
        let bad = try await hpcbridge("check-params", "--schema", directory + "/s.json", directory + "/bad.json")
        #expect(bad.status == 1)
        #expect(bad.stdout == "/: must be a whole number; got true/false (true)\n")
        try TestPaths.write(#"{"type": "integr"}"#, to: directory + "/badschema.json")
        #expect(try await hpcbridge("check-params", "--schema", directory + "/badschema.json", directory + "/ok.json").status == 2)
    }

    @Test("render prints the golden script for both schedulers")
    func render() async throws {
        for scheduler in ["slurm", "pbs"] {
            let result = try await hpcbridge("render", "gatk_variant_calling", "config/examples/gatk_variant_calling.json", "--group", "cancer_genomics_lab",
                                       "--scheduler", scheduler, "--job-id", "0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10")
            #expect(result.status == 0, "\(result.stderr)")
            let golden = try String(contentsOfFile: TestPaths.fixtures + "/golden/gatk_variant_calling.\(scheduler).sh", encoding: .utf8)
            #expect(result.stdout == golden)
        }
    }

    @Test("token create prints the token once; list shows no secret; revoke works ($HPCBRIDGE_STORE picks the store)")
    func tokens() async throws {
        let store = try TestPaths.scratchDirectory("cli-tokens") + "/store.sqlite"
        var environment = ProcessInfo.processInfo.environment
        environment["HPCBRIDGE_STORE"] = store
        func cli(_ arguments: String...) async throws -> ProcessResult { try await run(Self.executable, arguments, environment: environment, directory: TestPaths.root) }
        let created = try await cli("token", "create", "--group", "systems_biology_lab", "--label", "ci")
        #expect(created.status == 0)
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("hb_"))
        let id = String(token.split(separator: "_")[1])
        let secret = String(token.split(separator: "_", maxSplits: 2)[2])
        let listed = try await cli("token", "list")
        #expect(listed.stdout.contains(id))
        #expect(!listed.stdout.contains(secret))
        #expect(try APITokens(store: JobStore(path: store)).authenticate(token) == .group("systems_biology_lab"))
        #expect(try await cli("token", "revoke", id).status == 0)
        #expect(try APITokens(store: JobStore(path: store)).authenticate(token) == nil)
        #expect(try await cli("token", "revoke", id).status == 1)
        #expect(try await cli("token", "create", "--group", "no_such_lab").status == 1)
    }

    @Test("render refuses what the service would refuse")
    func renderRefusals() async throws {
        let otherGroup = try await hpcbridge("render", "gatk_variant_calling", "config/examples/gatk_variant_calling.json", "--group", "systems_biology_lab")
        #expect(otherGroup.status == 1)
        let notAllowed = try await hpcbridge("render", "rnaseq_deseq2", "config/examples/rnaseq_deseq2.json", "--group", "systems_biology_lab", "--job-id", "nope")
        #expect(notAllowed.status != 0)
        #expect(notAllowed.stderr.contains("--job-id must be a UUID"))
        let usage = try await hpcbridge("render", "gatk_variant_calling")
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("Missing expected argument"))
    }
}
