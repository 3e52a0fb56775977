import Foundation
import Testing
@testable import HPCBridge

/// Sample sheets inline as JSON or as CSV/TSV text: typed cells, every bad cell at its pointer (and
/// line and column for text), and the limits that keep a hostile sheet from being half-submitted.
@Suite("Sample sheets")
struct SampleSheetTests {
    static let rowSchema = try! JSONSchema(try! JSONValue.parse("""
    {"type": "object", "additionalProperties": false, "required": ["sample_id", "fastq_r1"],
     "properties": {
       "sample_id": {"type": "string", "maxLength": 40},
       "condition": {"type": "string", "enum": ["control", "treated"]},
       "fastq_r1": {"type": "string", "format": "absolute-path"},
       "fastq_r2": {"type": "string", "format": "absolute-path"},
       "depth": {"type": "integer", "minimum": 1, "default": 30},
       "paired": {"type": "boolean"}}}
    """))
    static let base = JSONPointer(tokens: ["samples"])

    func read(_ value: JSONValue) -> Result<SampleSheet, ValidationFailure> {
        SampleSheet.read(value, schema: Self.rowSchema, at: Self.base)
    }

    func errors(_ value: JSONValue) -> [String] {
        switch read(value) {
        case .success: Issue.record("expected the sheet to be refused"); return []
        case .failure(let failure): return failure.errors.map(\.description)
        }
    }

    @Test("CSV: header, typed cells, quoted cells, empty cells left out, defaults applied")
    func csv() throws {
        let text = "sample_id,condition,fastq_r1,fastq_r2,depth,paired\r\nS1,control,/d/S1_1.fq,/d/S1_2.fq,12,true\r\nS2,treated,\"/d/S 2_1.fq\",,,false\r\n"
        let sheet = try read(.string(text)).get()
        #expect(sheet.rows.count == 2)
        #expect(sheet.rows[0] == ["sample_id": "S1", "condition": "control", "fastq_r1": "/d/S1_1.fq", "fastq_r2": "/d/S1_2.fq", "depth": 12, "paired": true])
        #expect(sheet.rows[1]["fastq_r1"] == "/d/S 2_1.fq")
        #expect(sheet.rows[1]["fastq_r2"] == nil)
        #expect(sheet.rows[1]["depth"] == 30, "the schema's default")
        #expect(sheet.paths.map(\.description) == ["/0/fastq_r1", "/0/fastq_r2", "/1/fastq_r1"])
    }

    @Test("TSV is recognised by a tab in the header")
    func tsv() throws {
        let sheet = try read(.string("sample_id\tfastq_r1\nA\t/d/a.fq\nB\t/d/b.fq\n")).get()
        #expect(sheet.sampleIDs == ["A", "B"])
    }

    @Test("a sample id that is not a safe file name is refused even when the schema allows it")
    func unsafeKey() throws {
        #expect(errors(.string("sample_id,fastq_r1\n../x,/d/a.fq\n")) == ["/samples/0/sample_id: line 2, column 1: must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit: it names the sample's task, outputs and logs"])
    }

    @Test("JSON rows: every bad cell at its pointer, duplicates named with the first row")
    func jsonErrors() throws {
        let found = errors([
            ["sample_id": "A", "fastq_r1": "/d/a.fq"],
            ["sample_id": "B", "fastq_r1": "reads.fq", "depth": 0],
            ["sample_id": "A", "fastq_r1": "/d/a2.fq", "colour": "red"],
        ])
        #expect(found.contains("/samples/1/fastq_r1: must be an absolute path (starting with /); got \"reads.fq\"") || found.contains { $0.hasPrefix("/samples/1/fastq_r1: ") }, "\(found)")
        #expect(found.contains("/samples/1/depth: must be at least 1; got 0"), "\(found)")
        #expect(found.contains("/samples/2/sample_id: repeats \"A\" of row 0; every sample needs its own sample_id"), "\(found)")
        #expect(found.contains { $0.hasPrefix("/samples/2/colour: is not a known parameter") }, "\(found)")
    }

    @Test("CSV errors carry line and column of the cell", arguments: [
        ("sample_id,fastq_r1,depth\nA,/d/a.fq,zero\n", "/samples/0/depth: line 2, column 11: must be a whole number; got text (\"zero\")"),
        ("sample_id,fastq_r1\nA,\n", "/samples/0/fastq_r1: line 2, column 1: is required but missing"),
        ("sample_id,fastq_r1,condition\nA,/d/a.fq,contrl\n", "/samples/0/condition: line 2, column 11: must be one of \"control\", \"treated\"; got \"contrl\" (did you mean \"control\"?)"),
        ("sample_id,fastq_r1\nA,\"/d/a\nb.fq\"\n", "/samples/0/fastq_r1: line 2, column 3: contains a line break at character 5; control characters are not allowed in this field"),
    ])
    func csvCellErrors(text: String, expected: String) throws {
        let found = errors(.string(text))
        #expect(found.contains(expected), "got \(found)")
    }

    @Test("broken CSV is refused with its place, never read into shifted rows", arguments: [
        ("sample_id,fastq_r1\nA,/d/a\"b.fq\n", "/samples: line 2, column 7: a quote inside an unquoted cell; quote the whole cell and double the quote (\"a\"\"b\")"),
        ("sample_id,fastq_r1\n\"A\"x,/d/a.fq\n", "/samples: line 2, column 4: text after the closing quote of a quoted cell; a quote inside a cell is written as two quotes (\"\")"),
        ("sample_id,fastq_r1\n\"A,/d/a.fq\n", "/samples: line 2, column 1: this quoted cell is never closed"),
        ("sample_id,fastq_r1\nA,/d/a.fq,extra\n", "/samples: line 2, column 1: has 3 cells but the header names 2 fields"),
        ("sample_id,fastq_r1,sample_id\n", "/samples: line 1, column 20: the column \"sample_id\" is named twice"),
        ("sample_id,fastq_1\nA,/d/a.fq\n", "/samples: line 1, column 11: \"fastq_1\" is not a field of this pipeline's sample sheet (did you mean \"fastq_r1\"?); fields: condition, depth, fastq_r1, fastq_r2, paired, sample_id"),
        ("", "/samples: line 1, column 1: the sheet is empty; the first line names the fields (condition, depth, fastq_r1, fastq_r2, paired, sample_id)"),
    ])
    func brokenText(text: String, expected: String) throws {
        #expect(errors(.string(text)) == [expected])
    }

    @Test("limits: no rows, more rows than an array takes, a flood of errors")
    func limits() throws {
        #expect(errors([]) == ["/samples: lists no samples; a run needs at least one row"])
        #expect(errors(.string("sample_id,fastq_r1\n")) == ["/samples: lists no samples; a run needs at least one row"])
        let many = "sample_id,fastq_r1\n" + (0..<1002).map { "S\($0),/d/\($0).fq\n" }.joined()
        #expect(errors(.string(many)) == ["/samples: lists 1002 samples; a run takes at most 1000 (one array task each); split the sheet into several runs"])
        let exactly = "sample_id,fastq_r1\n" + (0..<1000).map { "S\($0),/d/\($0).fq\n" }.joined()
        #expect((try? read(.string(exactly)).get())?.rows.count == 1000)
        let bad = "sample_id,fastq_r1\n" + (0..<500).map { "S\($0),relative.fq\n" }.joined()
        let found = errors(.string(bad))
        #expect(found.count == SampleSheet.maximumErrors + 1)
        #expect(found.last == "/samples: more errors follow; fix these first (only the first 100 are listed)")
        #expect(errors(5) == ["/samples: must be a list of rows (objects) or CSV/TSV text with a header line; got a whole number"])
    }
}
