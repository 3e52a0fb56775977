import Foundation
import Testing
@testable import HPCBridge

/// The official JSON Schema Test Suite's draft 2020-12 cases for the keywords that make parameters
/// depend on each other (`if`/`then`/`else`, `dependentRequired`, `dependentSchemas`) and for the tuple
/// form of arrays (`prefixItems`, and `items` after it). `make schema-suite` fetches the cases (from the
/// jsonschema sdist on PyPI, pinned by SHA-256) into `.build/json-schema-test-suite`; `make test` does it
/// first. Every case runs: a group whose schema the dialect refuses on purpose must be refused with the
/// reason listed below, so a deviation from the standard is a decision written down, not a silent skip.
@Suite("JSON Schema Test Suite (draft 2020-12) for conditional and tuple keywords")
struct JSONSchemaTestSuiteTests {
    static let directory = TestPaths.root + "/.build/json-schema-test-suite"
    static let files = ["if-then-else", "dependentRequired", "dependentSchemas", "prefixItems", "items"]

    /// Groups the dialect refuses at load time, by file and group description, with the words of the
    /// refusal: JSON Schema ignores `then`/`else` without `if`, hpcbridge takes them for an author's mistake.
    static let refusedOnPurpose: [String: String] = [
        "if-then-else: ignore then without if": "then without if has no effect",
        "if-then-else: ignore else without if": "else without if has no effect",
        "if-then-else: non-interference across combined schemas": "then without if has no effect",
    ]

    @Test("every case of the suite's files", arguments: files)
    func suiteFile(_ name: String) throws {
        let path = Self.directory + "/\(name).json"
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("\(path) is missing: run `make schema-suite` (make test runs it first)")
            return
        }
        let groups = try #require(try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path))).arrayValue)
        #expect(groups.count >= 4, "\(name).json has only \(groups.count) groups")
        var cases = 0
        for group in groups {
            let title = "\(name): \(group["description"]?.stringValue ?? "?")"
            let document = try #require(group["schema"])
            let schema: JSONSchema
            do {
                schema = try JSONSchema(document)
            } catch {
                let expected = try #require(Self.refusedOnPurpose[title], "\(title): refused unexpectedly: \(error)")
                #expect(error.description.contains(expected), "\(title): refused with \(error)")
                continue
            }
            #expect(Self.refusedOnPurpose[title] == nil, "\(title) compiled, but the dialect means to refuse it")
            for test in group["tests"]?.arrayValue ?? [] {
                let data = try #require(test["data"])
                guard let valid = test["valid"]?.boolValue else { Issue.record("\(title): a test without \"valid\""); continue }
                let errors = SchemaValidator(schema: schema).errors(of: data, against: schema.root)
                #expect(errors.isEmpty == valid,
                        "\(title) / \(test["description"]?.stringValue ?? "?"): data \(data.jsonText) should be \(valid ? "valid" : "invalid"); errors: \(errors)")
                cases += 1
            }
        }
        #expect(cases > 0)
    }
}
