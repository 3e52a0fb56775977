import Foundation
import Mustache
import Testing
@testable import HPCBridge

/// The compiled renderer against swift-mustache, the renderer it replaced: same bytes for every shipped
/// template and for generated ones (standalone lines, nested sections, lookups down the stack).
@Suite("Compiled templates")
struct CompiledTemplateTests {
    /// The context as swift-mustache reads it.
    static func mustacheValue(_ value: TemplateValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let n): return n
        case .double(let n): return n
        case .string(let s): return s
        case .list(let items): return items.map(mustacheValue)
        case .object(let members): return members.mapValues(mustacheValue)
        }
    }

    static func reference(_ text: String, _ context: TemplateValue) throws -> String {
        try TemplateSet.parse(text).render(mustacheValue(context))
    }

    static func compiled(_ text: String, _ context: TemplateValue) throws -> String {
        try CompiledTemplate(text, escaping: .shell).render(context)
    }

    /// A context with every name the shipped templates use, built as the renderer builds it.
    static func shippedContext() throws -> TemplateValue {
        let request = try TestSite.example("rnaseq_deseq2_design")
        let plan = try JobPlanner(site: TestSite.shipped).plan(request, jobID: UUID())
        // The cohort pipelines' own parameters beside the single-job pipeline's (whose design is a list).
        guard case .object(var params) = TemplateValue(plan.parameters) else { throw CompiledTemplate.CompileError(description: "no parameters") }
        params["design"] = .string("~ batch + condition")
        params["study_id"] = .string("st1")
        params["contrasts"] = .list([.object(["numerator": .string("treated"), "denominator": .string("control")])])
        var context: [String: TemplateValue] = [
            "params": .object(params),
            "job": .object(["id": .string("0b7c52a4"), "name": .string("job 'name'"), "description": .string("a \"quoted\" $(text)")]),
            "pipeline": .object(["name": .string("p"), "version": .string("1.0")]),
            "group": .object(["name": .string("g"), "account": .string("acct")]),
            "resources": .object(["cpus": .int(4), "memory_mb": .int(1024), "time_limit_seconds": .int(600), "gpus": .int(0)]),
            "run": .object(["dir": .string("/runs/x"), "exit_code_file": .string("/runs/x/e"), "manifest_file": .string("/runs/x/m"),
                            "stdout": .string("/runs/x/o"), "stderr": .string("/runs/x/r"), "tasks_dir": .string("/runs/x/tasks")]),
            "outputs": .list([.object(["name": .string("a"), "path": .string("a.txt")]), .object(["name": .string("b"), "path": .string("b/c.txt")])]),
            "scheduler": .object(["name": .string("slurm"), "slurm": .bool(true), "pbs": .bool(false)]),
            "directives": .object(["job_name": .string("j"), "account": .string("acct"), "cpus": .string("4"), "memory_mb": .string("1024"),
                                   "time": .string("00:10:00"), "walltime": .string("00:10:00"), "run_dir": .string("/runs/x"),
                                   "stdout": .string("/o"), "stderr": .string("/e"), "comment": .string("hpcbridge:x"), "job_id": .string("x"),
                                   "partition": .string("debug"), "gpus": .string("1")]),
            "ref": .object(["reference": .object(["name": .string("gencode"), "kind": .string("transcriptome"), "fasta": .string("/ref/t.fa"),
                                                  "salmon_index": .string("/ref/idx"), "tx2gene": .string("/ref/tx2gene.tsv")])]),
        ]
        context["rows"] = .list([.object(["sample_id": .string("s1"), "condition": .string("c"), "batch": .string("b1"),
                                          "steps": .object(["quantify": .object(["quant": .string("q1")])])])])
        context["row"] = .object(["sample_id": .string("s1")])
        context["steps"] = .object(["quant": .object(["quant": .string("q1")])])
        return .object(context)
    }

    @Test("every shipped template renders to the bytes swift-mustache renders")
    func shippedTemplates() throws {
        let root = TestPaths.root + "/templates"
        let files = FileManager.default.enumerator(atPath: root)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".mustache") }
        #expect(files.count >= 8)
        let context = try Self.shippedContext()
        for file in files {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            let expected = try Self.reference(text, context)
            #expect(try Self.compiled(text, context) == expected, "\(file)")
            #expect(expected.count > 40, "\(file) rendered almost nothing: the context misses its names")
        }
    }

    @Test("standalone tag lines, held blanks and line breaks follow swift-mustache", arguments: [
        "{{#s}}\nx\n{{/s}}\n",
        "  {{#s}}  \n  x\n  {{/s}}\t\ny\n",
        "a {{#s}}\n{{/s}}\n{{#t}}\nq\n{{/t}}\n",
        "{{! comment }}\n  {{! c }}  \nz",
        "  {{! c }} x\n",
        "\n{{#s}}\nfirst line blank\n{{/s}}",
        "{{#s}}\nno blank line first\n{{/s}}",
        "   ",
        "x\n   ",
        "{{v}}   ",
        "a\r\n{{#s}}\r\nb\r\n{{/s}}\r\n",
        "{{^missing}}\n inverted\n{{/missing}}\n{{^s}}never{{/s}}",
        "{{#list}}{{.}},{{/list}}|{{#list}}\n{{.}}\n{{/list}}",
        "{{#obj}}{{v}}-{{inner}}-{{obj.inner}}{{/obj}}",
        "{{{v}}} {{&v}} {{ v }} {{.v}} {{#obj}}{{.v}}|{{v}}{{/obj}}",
        "{{#empty}}x{{/empty}}{{^empty}}empty{{/empty}}{{#falsy}}x{{/falsy}}{{^falsy}}no{{/falsy}}{{#nothing}}x{{/nothing}}{{^nothing}}null{{/nothing}}",
        "{{#zero}}zero {{.}} is pushed{{/zero}} {{#blank}}blank '{{.}}' too{{/blank}} {{n}} {{d}} {{t}}",
        "{ {x} {{#s}}{{/s}}{{v}}{{/",
    ])
    func cases(text: String) throws {
        let context = TemplateValue.object([
            "s": .bool(true), "t": .bool(true), "v": .string("it's"), "list": .list([.string("a"), .int(2), .double(0.5)]),
            "obj": .object(["inner": .string("in"), "v": .null]), "empty": .list([]), "falsy": .bool(false), "nothing": .null,
            "zero": .int(0), "blank": .string(""), "n": .int(-7), "d": .double(1e-5), "tvalue": .bool(true),
        ])
        let expected: String
        do { expected = try Self.reference(text, context) } catch {
            // Text swift-mustache refuses never reaches the compiler (the loader parses with it first).
            #expect(text.hasSuffix("{{/"))
            return
        }
        #expect(try Self.compiled(text, context) == expected)
    }

    @Test("generated templates and contexts render as swift-mustache renders them")
    func generated() throws {
        var random = SeededRandom(seed: 20261207)
        var compared = 0
        for _ in 0..<4000 {
            let text = Self.randomTemplate(depth: 0, &random)
            let context = Self.randomObject(depth: 0, &random)
            guard let expected = try? Self.reference(text, context) else { continue }
            // A list or object printed whole: swift-mustache prints Swift's description, in no fixed
            // order; the compiled renderer prints JSON text. Only those differ by design.
            if expected.contains("[") { continue }
            compared += 1
            #expect(try Self.compiled(text, context) == expected, "\(text.debugDescription)")
        }
        #expect(compared > 2000)
    }

    @Test("a list or object printed whole is its JSON text, the same in every process")
    func collectionsPrintAsJSON() throws {
        let context = TemplateValue.object(["o": .object(["b": .int(1), "a": .list([.string("x"), .null])])])
        #expect(try Self.compiled("{{o}}", context) == #"'{"a":["x",null],"b":1}'"#)
    }

    @Test("what the linter lets through but the compiler does not do is refused with a reason")
    func refusals() {
        for text in ["{{#list}}{{uppercased(.)}}{{/list}}", "{{>partial}}", "{{=<% %>=}}", "{{#s}}open"] {
            #expect(throws: CompiledTemplate.CompileError.self, "\(text)") { try CompiledTemplate(text, escaping: .shell) }
        }
    }

    // MARK: generators

    static let names = ["s", "t", "v", ".", "obj.v", "obj.s", ".v", "missing", "v.deep"]
    static let fragments = ["a", " ", "\t", "\n", "  ", "x y", "\r\n", "{", "}", "'"]

    static func randomTemplate(depth: Int, _ random: inout SeededRandom) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 1...8, using: &random) {
            switch Int.random(in: 0..<10, using: &random) {
            case 0...3: text += fragments.randomElement(using: &random)!
            case 4: text += "{{\(names.randomElement(using: &random)!)}}"
            case 5: text += Bool.random(using: &random) ? "{{{v}}}" : "{{& obj.v }}"
            case 6: text += "{{! note }}"
            case 7...9 where depth < 3:
                let name = ["s", "t", "obj", "list", "missing", "v"].randomElement(using: &random)!
                let sigil = Bool.random(using: &random) ? "#" : "^"
                let around = ["", "\n", "  ", " \n", "\n  "]
                text += around.randomElement(using: &random)! + "{{\(sigil)\(name)}}" + around.randomElement(using: &random)!
                text += randomTemplate(depth: depth + 1, &random)
                text += around.randomElement(using: &random)! + "{{/\(name)}}" + around.randomElement(using: &random)!
            default: text += "\n"
            }
        }
        return text
    }

    static func randomObject(depth: Int, _ random: inout SeededRandom) -> TemplateValue {
        var members: [String: TemplateValue] = [:]
        for key in ["s", "t", "v", "obj", "list"] where Int.random(in: 0..<4, using: &random) > 0 {
            members[key] = randomValue(depth: depth, &random)
        }
        return .object(members)
    }

    static func randomValue(depth: Int, _ random: inout SeededRandom) -> TemplateValue {
        switch Int.random(in: 0..<(depth < 2 ? 9 : 6), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .int(Int.random(in: -3...3, using: &random))
        case 3: return .double([0.5, -2.25, 1e-7].randomElement(using: &random)!)
        case 4, 5: return .string(["", "a b", "it's", "x\ny"].randomElement(using: &random)!)
        case 6, 7: return randomObject(depth: depth + 1, &random)
        default: return .list((0..<Int.random(in: 0...3, using: &random)).map { _ in randomObject(depth: depth + 1, &random) })
        }
    }
}
