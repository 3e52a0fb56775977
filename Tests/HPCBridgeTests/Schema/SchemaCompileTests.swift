import Testing
@testable import HPCBridge

@Suite("JSON Schema compilation")
struct SchemaCompileTests {
    /// Compiles and returns "location: message" lines, or fails the test when the schema compiles.
    func problems(_ text: String) throws -> [String] {
        do {
            _ = try JSONSchema(try JSONValue.parse(text))
            Issue.record("expected \(text) to be rejected")
            return []
        } catch let error as SchemaCompileError {
            return error.issues.map { "\($0.location): \($0.message)" }
        }
    }

    @Test("an unknown keyword is an error with a did-you-mean hint")
    func unknownKeyword() throws {
        let lines = try problems(#"{"properties": {"depth": {"type": "integer", "maximun": 5}}}"#)
        #expect(lines.count == 1)
        #expect(lines[0].hasPrefix("/properties/depth/maximun: unknown keyword \"maximun\" (did you mean \"maximum\"?)"))
    }

    @Test("keyword values are type-checked", arguments: [
        (#"{"type": "int"}"#, "/type", "did you mean \"integer\""),
        (#"{"minimum": "5"}"#, "/minimum", "must be a number"),
        (#"{"minLength": -1}"#, "/minLength", "whole number"),
        (#"{"required": "a"}"#, "/required", "must be a list"),
        (#"{"exclusiveMinimum": true}"#, "/exclusiveMinimum", "draft-04"),
        (#"{"format": "file-pth"}"#, "/format", "did you mean \"file-path\""),
        (#"{"pattern": "(?i)abc"}"#, "/pattern", "not ECMA-262"),
        (#"{"pattern": "(?<=a+)b"}"#, "/pattern", "bounded length"),
        (#"{"pattern": "[a-"}"#, "/pattern", "not closed"),
        (#"{"minimum": 5, "maximum": 1}"#, "/minimum", "nothing could ever validate"),
        (##"{"$ref": "#/$defs/missing"}"##, "/$ref", "not a schema in this document"),
        (#"{"$ref": "https://example.org/s.json"}"#, "/$ref", "only local references"),
        (#"{"items": [{"type": "string"}]}"#, "/items", "prefixItems"),
        (#"{"then": {"minimum": 1}}"#, "/then", "then without if"),
        (#"{"else": {"minimum": 1}}"#, "/else", "else without if"),
        (#"{"prefixItems": []}"#, "/prefixItems", "non-empty list"),
        (#"{"dependentSchemas": ["a"]}"#, "/dependentSchemas", "must be an object"),
        (#"{"if": {"propertys": {}}, "then": true}"#, "/if/propertys", "did you mean \"properties\""),
        (#"{"type": "integer", "default": "ten"}"#, "/default", "does not satisfy its own schema"),
        (#"{"x-uri-schemes": ["s3"]}"#, "/x-uri-schemes", "format: uri"),
        (#"{"properties": {"a": 5}}"#, "/properties/a", "must be an object"),
    ])
    func invalidKeywordValues(schema: String, location: String, fragment: String) throws {
        let lines = try problems(schema)
        #expect(lines.contains { $0.hasPrefix("\(location): ") && $0.contains(fragment) }, "got \(lines)")
    }

    @Test("all problems are reported together")
    func allAtOnce() throws {
        let lines = try problems(#"{"properties": {"a": {"tpye": "string"}, "b": {"minimum": "x"}}, "requird": []}"#)
        #expect(lines.count == 3)
    }

    @Test("nf-core annotation keywords are accepted")
    func annotations() throws {
        _ = try JSONSchema(try JSONValue.parse(#"""
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x", "title": "t", "description": "d",
         "properties": {"outdir": {"type": "string", "format": "directory-path", "fa_icon": "fas fa-folder",
                                   "help_text": "h", "hidden": true, "mimetype": "text/csv", "errorMessage": "e",
                                   "examples": ["/x"], "deprecated": false, "$comment": "c"}}}
        """#))
    }
}
