import Foundation
import HPCBridgeServer
import Testing
@testable import HPCBridge

/// The web UI's submit form is generated from a pipeline's parameter schema and sends what was typed
/// back in a shape the validator judges; these tests hold it to the shipped catalog and to the real
/// validator's errors.
@Suite("UI: a submit form generated from a parameter schema")
struct SchemaFormTests {
    static let catalog: PipelineCatalog = {
        do { return try PipelineCatalog.load(directory: TestPaths.catalog) } catch { fatalError("the shipped catalog must load: \(error)") }
    }()

    static var gatk: Pipeline { catalog.pipelines["gatk_variant_calling"]! }

    static let sampleIDMessage = "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (it becomes part of file names)"
    static let fastqMessage = "must be an absolute path (/data/...) or an s3:// URI of a .fastq, .fq, .fastq.gz or .fq.gz file"

    func field(_ name: String, of fields: [SchemaForm.Field]) throws -> SchemaForm.Field {
        try #require(fields.first { $0.name == name }, "no field \(name)")
    }

    @Test("the GATK pipeline's fields: required ones first in the schema's order, then the rest alphabetically")
    func gatkOrder() {
        let fields = SchemaForm.fields(of: Self.gatk.parameters)
        #expect(fields.map(\.name) == ["sample_id", "reference_genome", "fastq_r1", "fastq_r2", "caller", "depth_threshold",
                                       "emit_ref_confidence", "intervals", "min_base_quality", "quality_threshold",
                                       "standard_min_confidence"])
        #expect(fields.map(\.required) == [true, true, true, true, false, false, false, false, false, false, false])
    }

    @Test("the GATK pipeline's fields carry kind, default, bounds and the catalog's own hints")
    func gatkFields() throws {
        let fields = SchemaForm.fields(of: Self.gatk.parameters)

        let sample = try field("sample_id", of: fields)
        #expect(sample.kind == .text && sample.inputType == "text" && sample.required)
        #expect(sample.label == "sample id")
        #expect(sample.constraints == [Self.sampleIDMessage], "the errorMessage is the hint, not the raw pattern")
        #expect(sample.defaultText == nil && sample.step == nil)

        let genome = try field("reference_genome", of: fields)
        #expect(genome.kind == .choice(["hg19", "hg38", "GRCh37", "GRCh38", "demo_genome"]))
        #expect(genome.inputType == "select" && genome.required && genome.defaultText == nil)

        let read1 = try field("fastq_r1", of: fields)
        #expect(read1.kind == .text && read1.required)
        #expect(read1.description == "Read 1 FASTQ (gzip or plain).", "the description beside the $ref wins")
        #expect(read1.constraints == [Self.fastqMessage], "the hint comes from the $def's errorMessage")
        #expect(try field("fastq_r2", of: fields).description == "Read 2 FASTQ (gzip or plain), in the same read order as read 1.")

        let caller = try field("caller", of: fields)
        #expect(caller.kind == .choice(["HaplotypeCaller", "bcftools"]) && !caller.required)
        #expect(caller.defaultText == "HaplotypeCaller")

        let depth = try field("depth_threshold", of: fields)
        #expect(depth.kind == .integer && depth.inputType == "number" && depth.step == "1")
        #expect(depth.minimum == 0 && depth.maximum == nil && depth.defaultText == "10")
        #expect(depth.constraints == ["at least 0"])

        let baseQuality = try field("min_base_quality", of: fields)
        #expect(baseQuality.minimum == 0 && baseQuality.maximum == 127)
        #expect(baseQuality.constraints == ["at least 0", "at most 127"])

        let quality = try field("quality_threshold", of: fields)
        #expect(quality.kind == .number && quality.step == "any" && quality.defaultText == "30")

        #expect(try field("intervals", of: fields).constraints
            == ["must be an absolute path to a .bed, .interval_list, .list or .intervals file"])
    }

    @Test("typed text becomes parameters by kind; what does not convert is sent as typed; empty inputs drop out")
    func parametersFromForm() {
        let fields = SchemaForm.fields(of: Self.gatk.parameters)
        let form: [(name: String, value: String)] = [
            ("_csrf", "token"), ("sample_id", "NA12878"), ("reference_genome", "hg38"), ("fastq_r1", ""),
            ("fastq_r2", "/data/r2.fq.gz"), ("caller", "bcftools"), ("depth_threshold", " 12 "),
            ("quality_threshold", "twelve"), ("min_base_quality", ""), ("intervals", "  "), ("unknown", "x"),
        ]
        #expect(SchemaForm.parameters(from: form, fields: fields) == [
            "sample_id": "NA12878", "reference_genome": "hg38", "fastq_r2": "/data/r2.fq.gz", "caller": "bcftools",
            "depth_threshold": 12, "quality_threshold": "twelve",
        ])
        let typo = SchemaForm.parameters(from: [("depth_threshold", "twelve"), ("standard_min_confidence", "2.5")], fields: fields)
        #expect(typo == ["depth_threshold": "twelve", "standard_min_confidence": 2.5])
    }

    @Test("end to end: the real planner's errors for a submitted form land beside the inputs they are about")
    func endToEnd() throws {
        let fields = SchemaForm.fields(of: Self.gatk.parameters)
        let form: [(name: String, value: String)] = [
            ("sample_id", "bad id!"), ("reference_genome", "hg38"), ("fastq_r1", "/data/cancer_genomics_lab/s1_R1.fastq.gz"),
            ("fastq_r2", ""), ("depth_threshold", "twelve"), ("caller", "bcftools"), ("emit_ref_confidence", "GVCF"),
        ]
        let request = JobRequest(pipelineName: "gatk_variant_calling", parameters: SchemaForm.parameters(from: form, fields: fields),
                                 researchGroup: "cancer_genomics_lab", resources: ["cpus": 999])
        var errors: [ValidationError] = []
        do {
            _ = try JobPlanner(site: TestSite.shipped, resolver: { $0 }).plan(request, jobID: TestSite.jobID)
            Issue.record("the planner accepted a bad sample id")
        } catch {
            guard case .invalid(let failure) = error else { Issue.record("expected a validation failure, got \(error)"); return }
            errors = failure.errors
        }
        let sorted = SchemaForm.errorsByField(errors, fields: fields, prefix: "/parameters")
        #expect(Set(sorted.byField.keys) == ["sample_id", "depth_threshold", "fastq_r2"])
        #expect(sorted.byField["sample_id"] == [Self.sampleIDMessage])
        #expect(sorted.byField["depth_threshold"]?.count == 1)
        #expect(sorted.byField["depth_threshold"]?.first?.hasPrefix("must be a whole number") == true)
        #expect(sorted.byField["fastq_r2"] == ["is required but missing"])
        #expect(sorted.other.count == 2)
        #expect(sorted.other.contains("emit_ref_confidence GVCF or BP_RESOLUTION needs caller HaplotypeCaller; bcftools writes plain VCF only"),
                "a cross-field error at /parameters is shown as its message")
        #expect(sorted.other.contains { $0.hasPrefix("/resources/cpus: ") })
    }

    @Test("errors below a field keep the rest of their pointer; pointers outside the prefix go to other")
    func errorsByPointer() throws {
        let schema = try JSONSchema(try JSONValue.parse(#"""
            {"type": "object", "properties": {"design": {"type": "array"}, "a/b": {"type": "string"}}}
            """#))
        let fields = SchemaForm.fields(of: schema)
        let sorted = SchemaForm.errorsByField([
            (pointer: "/parameters/design/0/condition", message: "must be a level"),
            (pointer: "/parameters/design", message: "must have 2 items"),
            (pointer: "/parameters/a~1b", message: "must be text"),
            (pointer: "/parameters/nope", message: "is not allowed"),
            (pointer: "/parameters", message: "give one"),
            (pointer: "", message: "must be an object"),
            (pointer: "/parametersx", message: "odd"),
        ], fields: fields, prefix: "/parameters")
        #expect(sorted.byField == ["design": ["/0/condition: must be a level", "must have 2 items"], "a/b": ["must be text"]])
        #expect(sorted.other == ["/parameters/nope: is not allowed", "give one", "/: must be an object", "/parametersx: odd"])
    }

    @Test("kinds, hints and conversions the shipped schemas do not use: booleans, numeric enums, exclusive bounds, formats, JSON, allOf groups")
    func generatedHints() throws {
        let schema = try JSONSchema(try JSONValue.parse(#"""
            {
              "type": "object",
              "required": ["location"],
              "properties": {
                "flag": {"type": "boolean", "default": true},
                "off": {"type": "boolean"},
                "level": {"enum": [1, 2, 3], "default": 2},
                "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                "location": {"$ref": "#/$defs/location", "title": "Input location"},
                "name": {"type": ["string", "null"], "minLength": 2, "maxLength": 8},
                "tags": {"type": "array", "items": {"type": "string", "errorMessage": "must be a tag"}, "minItems": 1, "default": ["a"]}
              },
              "allOf": [{"$ref": "#/$defs/advanced"}],
              "$defs": {
                "location": {"type": "string", "description": "Where the reads are.",
                             "anyOf": [{"format": "absolute-path"}, {"format": "uri", "x-uri-schemes": ["s3"]}]},
                "advanced": {"properties": {"threads": {"type": "integer", "multipleOf": 2, "default": 4}}}
              }
            }
            """#))
        let fields = SchemaForm.fields(of: schema)
        #expect(fields.map(\.name) == ["location", "flag", "level", "name", "off", "ratio", "tags", "threads"])

        let location = try field("location", of: fields)
        #expect(location.label == "Input location" && location.description == "Where the reads are.")
        #expect(location.constraints == ["an absolute path or an s3:// URI"])

        let flag = try field("flag", of: fields)
        #expect(flag.kind == .boolean && flag.inputType == "checkbox" && flag.defaultText == "true")

        let level = try field("level", of: fields)
        #expect(level.kind == .choice(["1", "2", "3"]) && level.defaultText == "2")

        let ratio = try field("ratio", of: fields)
        #expect(ratio.minimum == nil && ratio.maximum == nil, "HTML has no exclusive bounds")
        #expect(ratio.constraints == ["more than 0", "less than 1"])

        #expect(try field("name", of: fields).kind == .text)
        #expect(try field("name", of: fields).constraints == ["2 to 8 characters"])

        let tags = try field("tags", of: fields)
        #expect(tags.kind == .json && tags.inputType == "textarea")
        #expect(tags.constraints == ["JSON: a list", "at least 1 item", "each item must be a tag"])
        #expect(try JSONValue.parse(try #require(tags.defaultText)) == ["a"])

        let threads = try field("threads", of: fields)
        #expect(threads.kind == .integer && threads.constraints == ["a multiple of 2"] && threads.defaultText == "4")

        let typed = SchemaForm.parameters(from: [("flag", "on"), ("level", "3"), ("tags", #"["x", "y"]"#), ("name", "a b"),
                                                 ("ratio", "1e400"), ("location", "s3://bucket/r.fq")], fields: fields)
        #expect(typed == ["flag": true, "off": false, "level": 3, "tags": ["x", "y"], "name": "a b", "ratio": "1e400",
                          "location": "s3://bucket/r.fq"])
        let unchecked = SchemaForm.parameters(from: [("tags", "[not json"), ("level", "7")], fields: fields)
        #expect(unchecked == ["flag": false, "off": false, "tags": "[not json", "level": "7"],
                "an unchecked box is false even when the default is true; text that does not parse is sent as typed")
    }

    @Test("every shipped schema (parameters and sample sheets) gives one field per property, and its defaults round-trip")
    func everyShippedSchema() throws {
        var schemas: [(String, JSONSchema)] = []
        for pipeline in Self.catalog.sorted {
            schemas.append((pipeline.name, pipeline.parameters))
            if let sheet = pipeline.sampleSheet { schemas.append((pipeline.name + " sample sheet", sheet)) }
        }
        #expect(schemas.count == 6)
        for (name, schema) in schemas {
            let fields = SchemaForm.fields(of: schema)
            #expect(fields.map(\.name).sorted() == schema.root.properties.keys.sorted(), "\(name)")
            #expect(Array(fields.map(\.name).prefix(schema.root.required.count)) == schema.root.required, "\(name)")
            // The defaults typed back into the form are the schema's defaults again.
            let form = fields.compactMap { field in field.defaultText.map { (name: field.name, value: $0) } }
            var expected: [String: JSONValue] = [:]
            for field in fields {
                if let value = schema.root.properties[field.name]?.defaultValue { expected[field.name] = value }
                if field.kind == .boolean, expected[field.name] == nil { expected[field.name] = false }
            }
            #expect(SchemaForm.parameters(from: form, fields: fields) == .object(expected), "\(name)")
        }
        let rnaseq = SchemaForm.fields(of: Self.catalog.pipelines["rnaseq_deseq2"]!.parameters)
        #expect(try field("design", of: rnaseq).kind == .json)
        #expect(try field("fastq_files", of: rnaseq).kind == .json)
        #expect(try field("fastq_files", of: rnaseq).constraints == ["JSON: a list", "1 to 2 items", "no item twice", "each item \(Self.fastqMessage)"])
        #expect(try field("sample_id", of: rnaseq).constraints == [Self.sampleIDMessage])
    }
}
