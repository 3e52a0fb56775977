import Foundation
import Testing
@testable import HPCBridge

/// One row of the schema table: a schema, a document, and the pointers of the errors expected
/// (none: the document is valid).
struct SchemaCase: CustomTestStringConvertible, Sendable {
    let name: String
    let schema: String
    let document: String
    let errors: [String]
    var testDescription: String { name }

    init(_ name: String, _ schema: String, _ document: String, errors: [String] = []) {
        self.name = name
        self.schema = schema
        self.document = document
        self.errors = errors
    }
}

let schemaCases: [SchemaCase] = [
    // type, with JSON Schema's number semantics
    SchemaCase("10000.0 is an integer", #"{"type":"integer"}"#, "10000.0"),
    SchemaCase("1.5 is not an integer", #"{"type":"integer"}"#, "1.5", errors: ["/"]),
    SchemaCase("true is not a number", #"{"type":"number"}"#, "true", errors: ["/"]),
    SchemaCase("true is not an integer", #"{"type":"integer"}"#, "true", errors: ["/"]),
    SchemaCase("1 is not a boolean", #"{"type":"boolean"}"#, "1", errors: ["/"]),
    SchemaCase("an integer is a number", #"{"type":"number"}"#, "3"),
    SchemaCase("null is its own type", #"{"type":["string","null"]}"#, "null"),
    SchemaCase("a string is not null", #"{"type":"null"}"#, #""""#, errors: ["/"]),
    SchemaCase("type list", #"{"type":["integer","string"]}"#, "[]", errors: ["/"]),
    // enum and const compare numbers by value
    SchemaCase("enum 1 matches 1.0", #"{"enum":[1,"a"]}"#, "1.0"),
    SchemaCase("enum is case-sensitive", #"{"enum":["hg38"]}"#, #""HG38""#, errors: ["/"]),
    SchemaCase("enum true is not 1", #"{"enum":[1]}"#, "true", errors: ["/"]),
    SchemaCase("const object", #"{"const":{"a":[1,2]}}"#, #"{"a":[1,2.0]}"#),
    SchemaCase("const mismatch", #"{"const":"x"}"#, #""y""#, errors: ["/"]),
    // numeric bounds
    SchemaCase("minimum inclusive", #"{"minimum":0}"#, "0"),
    SchemaCase("exclusiveMinimum excludes the bound", #"{"exclusiveMinimum":0}"#, "0", errors: ["/"]),
    SchemaCase("exclusiveMaximum", #"{"exclusiveMaximum":1}"#, "0.999"),
    SchemaCase("maximum", #"{"maximum":127}"#, "128", errors: ["/"]),
    SchemaCase("multipleOf decimal", #"{"multipleOf":0.01}"#, "19.99"),
    SchemaCase("multipleOf fails", #"{"multipleOf":0.5}"#, "1.25", errors: ["/"]),
    SchemaCase("bounds ignore non-numbers", #"{"minimum":5}"#, #""abc""#),
    // strings: length in code points, ECMA-262 patterns
    SchemaCase("maxLength counts code points", #"{"maxLength":2}"#, #""é🧬""#),
    SchemaCase("minLength", #"{"minLength":3}"#, #""ab""#, errors: ["/"]),
    SchemaCase("pattern is a search, not anchored", #"{"pattern":"b"}"#, #""abc""#),
    SchemaCase("$ is end of input, not before a final newline", #"{"pattern":"^[a-z]+$","x-allow-control-characters":true}"#, #""abc\n""#, errors: ["/"]),
    SchemaCase("\\d is ASCII only", #"{"pattern":"^\\d+$"}"#, #""١٢٣""#, errors: ["/"]),
    SchemaCase("\\w is ASCII only", #"{"pattern":"^\\w+$"}"#, #""café""#, errors: ["/"]),
    SchemaCase("lookbehind", #"{"pattern":"(?<=chr)[0-9XYM]+$"}"#, #""chrX""#),
    SchemaCase("negative lookbehind", #"{"pattern":"^(?!.*(?<!\\.fastq)\\.gz$).*$"}"#, #""reads.bam.gz""#, errors: ["/"]),
    SchemaCase("negative lookbehind passes", #"{"pattern":"^(?!.*(?<!\\.fastq)\\.gz$).*$"}"#, #""reads.fastq.gz""#),
    SchemaCase("unicode property escape", #"{"pattern":"^\\p{L}+$"}"#, #""Ångström""#),
    SchemaCase("[[] is a class containing [", #"{"pattern":"^[[]+$"}"#, #""[[""#),
    // formats
    SchemaCase("absolute path", #"{"format":"absolute-path"}"#, #""/data/run 1/R1.fastq.gz""#),
    SchemaCase("relative path", #"{"format":"absolute-path"}"#, #""data/R1.fq""#, errors: ["/"]),
    SchemaCase("path with ..", #"{"format":"absolute-path"}"#, #""/data/../etc/passwd""#, errors: ["/"]),
    SchemaCase("path with //", #"{"format":"absolute-path"}"#, #""/data//x""#, errors: ["/"]),
    SchemaCase("nf-core file-path is checked as absolute", #"{"format":"file-path"}"#, #""x.csv""#, errors: ["/"]),
    SchemaCase("uri with allowed scheme", #"{"format":"uri","x-uri-schemes":["s3"]}"#, #""s3://bucket/key.fq""#),
    SchemaCase("uri scheme is case-insensitive", #"{"format":"uri","x-uri-schemes":["s3"]}"#, #""S3://bucket/key.fq""#),
    SchemaCase("uri with other scheme", #"{"format":"uri","x-uri-schemes":["s3"]}"#, #""https://x/y""#, errors: ["/"]),
    SchemaCase("uri with a space", #"{"format":"uri"}"#, #""s3://b/a b""#, errors: ["/"]),
    SchemaCase("not a uri", #"{"format":"uri"}"#, #""/just/a/path""#, errors: ["/"]),
    SchemaCase("formats ignore non-strings", #"{"format":"uri"}"#, "5"),
    SchemaCase("uuid", #"{"format":"uuid"}"#, #""123e4567-e89b-12d3-a456-426614174000""#),
    SchemaCase("date", #"{"format":"date"}"#, #""2026-02-30""#, errors: ["/"]),
    // arrays
    SchemaCase("items", #"{"items":{"type":"string"}}"#, #"["a",1,"b",null]"#, errors: ["/1", "/3"]),
    SchemaCase("minItems", #"{"minItems":1}"#, "[]", errors: ["/"]),
    SchemaCase("maxItems", #"{"maxItems":2}"#, "[1,2,3]", errors: ["/"]),
    SchemaCase("uniqueItems treats 1 and 1.0 as equal", #"{"uniqueItems":true}"#, "[1,1.0]", errors: ["/1"]),
    SchemaCase("uniqueItems objects", #"{"uniqueItems":true}"#, #"[{"a":1},{"a":2}]"#),
    // objects
    SchemaCase("required names the missing member", #"{"required":["sample_id","reference"]}"#, #"{"sample_id":"x"}"#, errors: ["/reference"]),
    SchemaCase("additionalProperties false", #"{"properties":{"a":{}},"additionalProperties":false}"#, #"{"a":1,"b":2}"#, errors: ["/b"]),
    SchemaCase("additionalProperties schema", #"{"additionalProperties":{"type":"integer"}}"#, #"{"a":1,"b":"x"}"#, errors: ["/b"]),
    SchemaCase("patternProperties", #"{"patternProperties":{"^x_":{"type":"string"}},"additionalProperties":false}"#, #"{"x_a":"s","y":1}"#, errors: ["/y"]),
    SchemaCase("propertyNames", #"{"propertyNames":{"pattern":"^[a-z]+$"}}"#, #"{"ok":1,"Not":2}"#, errors: ["/Not"]),
    SchemaCase("min and maxProperties", #"{"minProperties":2}"#, #"{"a":1}"#, errors: ["/"]),
    SchemaCase("dependentRequired", #"{"dependentRequired":{"intervals":["padding"]}}"#, #"{"intervals":"/x.bed"}"#, errors: ["/padding"]),
    // conditional parameters, as pipeline schemas write them (the suite's own cases: JSONSchemaTestSuiteTests)
    SchemaCase("if/then: GVCF mode needs HaplotypeCaller",
               #"{"if":{"properties":{"emit_ref_confidence":{"const":"GVCF"}},"required":["emit_ref_confidence"]},"then":{"properties":{"caller":{"const":"HaplotypeCaller"}}}}"#,
               #"{"emit_ref_confidence":"GVCF","caller":"bcftools"}"#, errors: ["/caller"]),
    SchemaCase("if/then: the condition does not hold",
               #"{"if":{"properties":{"emit_ref_confidence":{"const":"GVCF"}},"required":["emit_ref_confidence"]},"then":{"properties":{"caller":{"const":"HaplotypeCaller"}}}}"#,
               #"{"caller":"bcftools"}"#),
    SchemaCase("if/else: paired-end needs a second file",
               #"{"if":{"properties":{"layout":{"const":"single"}}},"then":{"properties":{"fastq_2":false}},"else":{"required":["fastq_2"]}}"#,
               #"{"layout":"paired"}"#, errors: ["/fastq_2"]),
    SchemaCase("if/then: the then branch forbids a member",
               #"{"if":{"properties":{"layout":{"const":"single"}}},"then":{"properties":{"fastq_2":false}},"else":{"required":["fastq_2"]}}"#,
               #"{"layout":"single","fastq_2":"/d/b.fq"}"#, errors: ["/fastq_2"]),
    SchemaCase("dependentSchemas applies to the whole object",
               #"{"dependentSchemas":{"intervals":{"properties":{"padding":{"type":"integer","minimum":0}},"required":["padding"]}}}"#,
               #"{"intervals":"/x.bed","padding":-5}"#, errors: ["/padding"]),
    SchemaCase("dependentSchemas: absent trigger, nothing checked",
               #"{"dependentSchemas":{"intervals":{"required":["padding"]}}}"#, #"{"padding":-5}"#),
    SchemaCase("prefixItems by position, items after them",
               #"{"prefixItems":[{"type":"string"},{"type":"integer"}],"items":{"type":"boolean"}}"#,
               #"["a", "b", true, 3]"#, errors: ["/1", "/3"]),
    SchemaCase("prefixItems: items false closes the tuple",
               #"{"prefixItems":[{"type":"string"}],"items":false}"#, #"["a", "b"]"#, errors: ["/1"]),
    SchemaCase("pointer escapes ~ and /", #"{"additionalProperties":{"type":"integer"}}"#, #"{"a/b~c":"x"}"#, errors: ["/a~1b~0c"]),
    SchemaCase("nested errors all at once", #"{"properties":{"s":{"items":{"properties":{"n":{"type":"integer"}}}}}}"#, #"{"s":[{"n":1},{"n":"x"},{"n":2.5}]}"#, errors: ["/s/1/n", "/s/2/n"]),
    // combinators
    SchemaCase("anyOf one branch", #"{"anyOf":[{"type":"integer"},{"minLength":3}]}"#, #""abc""#),
    SchemaCase("anyOf none", #"{"anyOf":[{"type":"integer"},{"type":"boolean"}]}"#, #""abc""#, errors: ["/"]),
    SchemaCase("oneOf exactly one", #"{"oneOf":[{"type":"integer"},{"type":"string"}]}"#, "5"),
    SchemaCase("oneOf two match", #"{"oneOf":[{"type":"integer"},{"minimum":2}]}"#, "5", errors: ["/"]),
    SchemaCase("allOf all", #"{"allOf":[{"minimum":1},{"maximum":3}]}"#, "4", errors: ["/"]),
    SchemaCase("not", #"{"not":{"type":"string"}}"#, #""x""#, errors: ["/"]),
    SchemaCase("not required pair", #"{"not":{"required":["a","b"]}}"#, #"{"a":1}"#),
    // booleans, $ref, $defs
    SchemaCase("false schema", #"{"properties":{"a":false}}"#, #"{"a":1}"#, errors: ["/a"]),
    SchemaCase("true schema", "true", #"{"anything":[1]}"#),
    SchemaCase("$ref to $defs", ##"{"$defs":{"id":{"pattern":"^S[0-9]+$"}},"properties":{"x":{"$ref":"#/$defs/id"}}}"##, ##"{"x":"T1"}"##, errors: ["/x"]),
    SchemaCase("recursive $ref", ##"{"$defs":{"node":{"type":"object","properties":{"children":{"items":{"$ref":"#/$defs/node"}}},"additionalProperties":false}},"$ref":"#/$defs/node"}"##,
               #"{"children":[{"children":[{"bad":1}]}]}"#, errors: ["/children/0/children/0/bad"]),
    SchemaCase("$ref with siblings", ##"{"$defs":{"n":{"type":"integer"}},"$ref":"#/$defs/n","minimum":3}"##, "2", errors: ["/"]),
    SchemaCase("draft-07 definitions", ##"{"definitions":{"n":{"type":"integer"}},"$ref":"#/definitions/n"}"##, #""x""#, errors: ["/"]),
    // control characters
    SchemaCase("newline rejected by default", #"{"type":"string"}"#, #""a\nb""#, errors: ["/"]),
    SchemaCase("NUL rejected by default", #"{"type":"string"}"#, #""a\u0000b""#, errors: ["/"]),
    SchemaCase("tab rejected by default", #"{}"#, #"{"x":["ok","a\tb"]}"#, errors: ["/x/1"]),
    SchemaCase("line separator rejected", #"{}"#, #""a\u2028b""#, errors: ["/"]),
    SchemaCase("control character in a key", #"{}"#, #"{"a\nb":1}"#, errors: ["/a\nb"]),
    SchemaCase("explicitly allowed", #"{"properties":{"notes":{"type":"string","x-allow-control-characters":true}}}"#, #"{"notes":"line 1\nline 2"}"#),
    SchemaCase("allowed only where declared", #"{"properties":{"notes":{"x-allow-control-characters":true}}}"#, #"{"notes":"a\nb","other":"c\nd"}"#, errors: ["/other"]),
    SchemaCase("non-ASCII is not a control character", #"{"type":"string"}"#, #""Müller ΔΔCt 🧬""#),
]

@Suite("JSON Schema validation")
struct SchemaValidationTests {
    @Test("schema table", arguments: schemaCases)
    func table(_ row: SchemaCase) throws {
        let schema = try JSONSchema(try JSONValue.parse(row.schema))
        let result = SchemaValidator(schema: schema).validate(try JSONValue.parse(row.document))
        let pointers = Array(Set(result.errors.map { $0.pointer == .root ? "/" : $0.pointer.description })).sorted()
        #expect(pointers == row.errors.sorted(), "errors: \(result.errors)")
    }

    @Test("defaults are applied, also through $ref and allOf groups as nf-core writes them")
    func defaults() throws {
        let schema = try JSONSchema(try JSONValue.parse(#"""
        {"$defs": {"qc": {"properties": {"min_quality": {"type": "integer", "default": 15}}}},
         "allOf": [{"$ref": "#/$defs/qc"}],
         "properties": {"caller": {"default": "HaplotypeCaller"}, "given": {"default": 1},
                        "samples": {"items": {"properties": {"paired": {"default": true}}}}}}
        """#))
        let result = SchemaValidator(schema: schema).validate(try JSONValue.parse(#"{"given": 2, "samples": [{}, {"paired": false}]}"#))
        #expect(result.isValid)
        #expect(result.value == (try JSONValue.parse(#"""
        {"given": 2, "caller": "HaplotypeCaller", "min_quality": 15, "samples": [{"paired": true}, {"paired": false}]}
        """#)))
    }

    @Test("every error is reported at once, with messages a person can act on")
    func messages() throws {
        let pipeline = try PipelineCatalog.loadPipeline(path: TestPaths.catalog + "/gatk_variant_calling.yaml")
        let result = pipeline.validate(parameters: try JSONValue.parse(#"""
        {"sample_id": "S1", "reference_genome": "hg37", "fastq_r1": "R1.fastq.gz", "fastq_r2": "/d/R2.fastq.gz",
         "quality_threshold": -1, "depth_threshold": 2.5, "qualty_threshold": 3}
        """#))
        let byPointer = Dictionary(grouping: result.errors, by: { $0.pointer.description }).mapValues { $0.map(\.message).joined() }
        #expect(byPointer.keys.sorted() == ["/depth_threshold", "/fastq_r1", "/quality_threshold", "/qualty_threshold", "/reference_genome"])
        #expect(byPointer["/reference_genome"]!.contains("did you mean \"hg38\""))
        #expect(byPointer["/qualty_threshold"]!.contains("did you mean \"quality_threshold\""))
        #expect(byPointer["/quality_threshold"]! == "must be at least 0; got -1")
        #expect(byPointer["/depth_threshold"]!.contains("whole number"))
        #expect(byPointer["/fastq_r1"]!.contains("absolute path"))
    }

    @Test("a description of errors never repeats a huge value in full")
    func longValuesAreShortened() throws {
        let schema = try JSONSchema(try JSONValue.parse(#"{"enum": ["a"]}"#))
        let result = SchemaValidator(schema: schema).validate(.string(String(repeating: "x", count: 100_000)))
        #expect(result.errors.count == 1)
        #expect(result.errors[0].message.count < 200)
    }
}
