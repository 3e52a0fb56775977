/// Checks batch-script templates before they are used: every tag names something the renderer provides,
/// and every `{{value}}` sits where a single-quoted shell word is safe.
///
/// Single-quoting makes a value one inert word only in plain shell context. Inside `"..."` the quotes
/// become literal characters; inside an unquoted heredoc `$(...)` in the value would run; inside a
/// `# comment` a newline in the value would end the comment. So the linter follows the shell's quoting
/// state through the template and refuses a value tag anywhere but plain context. Mustache tags that
/// change delimiters, include partials or print raw text are refused too, except `{{{directives.*}}}` in
/// scheduler headers, whose values the renderer allowlists.
public struct TemplateLinter: Sendable {
    /// What kind of template is checked; headers may only use pre-checked directive values.
    public enum Kind: Sendable { case header, shared, body }

    /// The names a template may use beyond the fixed roots: the pipeline's parameters and the
    /// parameters that name references. Empty for shared templates.
    public var parameterNames: Set<String> = []
    public var referenceParameters: Set<String> = []
    /// The step being checked, in a pipeline with a sample sheet or several steps: which `row`,
    /// `rows` and `steps.NAME.OUTPUT` names its template may use. Nil for a single-job pipeline.
    public var step: StepNames?

    /// What a step's template can see beyond the single-job names.
    public struct StepNames: Sendable {
        /// The sample-sheet row's fields (`row.FIELD`, and bare `FIELD` inside `{{#rows}}`); empty when
        /// the pipeline takes no sample sheet.
        public var rowFields: Set<String>
        /// Whether the step runs once per row, so `row.FIELD` is its own row.
        public var scatters: Bool
        /// The outputs of this step and of every step it needs, directly or through others, by step name, and
        /// whether that step scatters (then a path per row: inside `{{#rows}}` or from a scatter step).
        public var upstream: [String: (outputs: Set<String>, perRow: Bool)]

        public init(rowFields: Set<String>, scatters: Bool, upstream: [String: (outputs: Set<String>, perRow: Bool)]) {
            self.rowFields = rowFields
            self.scatters = scatters
            self.upstream = upstream
        }
    }

    static let fixedRoots: [String: Set<String>] = [
        "job": ["id", "name", "description"],
        "pipeline": ["name", "version"],
        "group": ["name", "account"],
        "resources": ["cpus", "memory_mb", "time_limit_seconds", "gpus"],
        "run": ["dir", "exit_code_file", "manifest_file", "stdout", "stderr", "tasks_dir"],
        "scheduler": ["name", "slurm", "pbs"],
        "outputs": [],
        "directives": [],
    ]
    static let referenceFields: Set<String> = ["name", "kind", "fasta", "bwa_index", "salmon_index", "annotation", "tx2gene"]

    public init(parameterNames: Set<String> = [], referenceParameters: Set<String> = []) {
        self.parameterNames = parameterNames
        self.referenceParameters = referenceParameters
    }

    private enum ShellState: Equatable {
        case plain, singleQuoted, doubleQuoted, comment
        case heredoc(delimiter: String, stripTabs: Bool)
    }

    /// Every problem of one template, with line and column.
    public func lint(_ text: String, file: String, kind: Kind) -> [FileIssue] {
        var issues: [FileIssue] = []
        let chars = Array(text)
        var i = 0, line = 1, column = 1
        var state = ShellState.plain
        var pendingHeredoc: (String, Bool)?
        var sections: [String] = []
        var lineStart = true
        var previous: Character = "\n"

        func advance(_ c: Character) {
            if c == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        func report(_ l: Int, _ c: Int, _ message: String) {
            issues.append(FileIssue(SourceLocation(file: file, line: l, column: c), message))
        }

        while i < chars.count {
            if chars[i] == "{", i + 1 < chars.count, chars[i + 1] == "{" {
                let (tagLine, tagColumn) = (line, column)
                let triple = i + 2 < chars.count && chars[i + 2] == "{"
                let closer = triple ? "}}}" : "}}"
                let bodyStart = i + (triple ? 3 : 2)
                guard let end = Self.find(closer, in: chars, from: bodyStart) else {
                    report(tagLine, tagColumn, "this tag is not closed with \(closer)")
                    break
                }
                let content = String(chars[bodyStart..<end]).trimmingCharacters(in: .whitespaces)
                checkTag(content, triple: triple, kind: kind, state: state, sections: &sections) { report(tagLine, tagColumn, $0) }
                for c in chars[i..<(end + closer.count)] { advance(c) }
                i = end + closer.count
                if !(content.first.map { "#^/!".contains($0) } ?? false) { previous = "x"; lineStart = false }
                continue
            }
            let c = chars[i]
            switch state {
            case .plain:
                if c == "\\" {
                    if i + 1 < chars.count { advance(c); i += 1 }
                } else if c == "'" {
                    state = .singleQuoted
                } else if c == "\"" {
                    state = .doubleQuoted
                } else if c == "#", previous.isWhitespace || previous == ";" || lineStart {
                    state = .comment
                } else if c == "<", i + 2 < chars.count, chars[i + 1] == "<", chars[i + 2] != "<" {
                    pendingHeredoc = Self.heredocDelimiter(chars, after: i + 2)
                }
            case .singleQuoted:
                if c == "'" { state = .plain }
            case .doubleQuoted:
                if c == "\\" { if i + 1 < chars.count { advance(c); i += 1 } } else if c == "\"" { state = .plain }
            case .comment:
                if c == "\n" { state = .plain }
            case .heredoc:
                break
            }
            if c == "\n" {
                if case .heredoc(let delimiter, let strip) = state {
                    // the line that just ended: does it close the heredoc?
                    let lineText = Self.lineEnding(at: i, in: chars)
                    let candidate = strip ? String(lineText.drop { $0 == "\t" }) : lineText
                    if candidate == delimiter { state = .plain }
                }
                if let (delimiter, strip) = pendingHeredoc, state == .plain {
                    state = .heredoc(delimiter: delimiter, stripTabs: strip)
                    pendingHeredoc = nil
                }
                lineStart = true
            } else if !c.isWhitespace {
                lineStart = false
            }
            previous = c
            advance(c)
            i += 1
        }
        if let open = sections.last { report(line, column, "section {{#\(open)}} is not closed") }
        return issues
    }

    private func checkTag(_ content: String, triple: Bool, kind: Kind, state: ShellState, sections: inout [String], report: (String) -> Void) {
        guard let sigil = content.first else { report("empty tag"); return }
        switch sigil {
        case "!":
            return
        case "#", "^":
            let name = content.dropFirst().trimmingCharacters(in: .whitespaces)
            checkName(name, kind: kind, sections: sections, report: report)
            sections.append(name)
        case "/":
            let name = content.dropFirst().trimmingCharacters(in: .whitespaces)
            if sections.last == name { sections.removeLast() } else { report("{{/\(name)}} closes a section that is not open\(sections.last.map { " (the open one is \($0))" } ?? "")") }
        case "=", ">", "<", "$", "%":
            report("{{\(sigil)...}} (delimiter changes, partials, blocks, pragmas) is not allowed in batch-script templates; the renderer composes header, shared prologue and body itself")
        case "&":
            checkRaw(content.dropFirst().trimmingCharacters(in: .whitespaces), kind: kind, report: report)
        default:
            if triple {
                checkRaw(content, kind: kind, report: report)
                return
            }
            if kind == .header {
                report("a scheduler header may only use {{{directives.NAME}}} (values the renderer has checked for directive lines), not {{\(content)}}")
                return
            }
            checkName(content, kind: kind, sections: sections, report: report)
            switch state {
            case .plain: break
            case .singleQuoted: report("{{\(content)}} is inside '...'; a value is already one quoted word: write it outside the quotes")
            case .doubleQuoted: report("{{\(content)}} is inside \"...\", where its quotes would become literal; assign it first (name={{\(content)}}) and use \"$name\"")
            case .comment: report("{{\(content)}} is inside a # comment, where a line break in the value would start a command; remove it from the comment")
            case .heredoc: report("{{\(content)}} is inside a here-document, where $(...) in the value would run; pass the value as an argument or variable instead")
            }
        }
    }

    private func checkRaw(_ name: String, kind: Kind, report: (String) -> Void) {
        guard kind == .header, name.hasPrefix("directives.") else {
            report("{{{\(name)}}} prints a value without quoting; only scheduler headers may do that, and only for directives.*")
            return
        }
    }

    private func checkName(_ name: String, kind: Kind, sections: [String], report: (String) -> Void) {
        let insideSection = !sections.isEmpty
        let insideRows = sections.contains("rows")
        if name == "." {
            if !insideSection { report("{{.}} is only meaningful inside a section") }
            return
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let root = parts.first, !root.isEmpty else { report("\"\(name)\" is not a valid name"); return }
        if kind == .header, root != "directives" {
            report("a scheduler header may only use directives.*, not \(name)")
            return
        }
        var roots = Set(Self.fixedRoots.keys).union(kind == .body ? ["params", "ref"] : [])
        if let step, kind == .body {
            roots.formUnion(["steps"])
            if !step.rowFields.isEmpty { roots.formUnion(["rows"]) }
            if step.scatters { roots.formUnion(["row"]) }
            if insideRows, parts.count == 1, step.rowFields.contains(root) { return }
        }
        guard roots.contains(root) else {
            if !insideSection {
                report("unknown name \"\(name)\"\(EditDistance.hint(for: root, among: roots.sorted())); templates can use \(roots.sorted().joined(separator: ", "))")
            }
            return
        }
        guard parts.count > 1 else { return }
        let second = parts[1]
        switch root {
        case "params":
            if !parameterNames.contains(second) {
                report("params.\(second) is not a parameter of this pipeline\(EditDistance.hint(for: second, among: parameterNames.sorted()))")
            }
        case "ref":
            if !referenceParameters.contains(second) {
                report("ref.\(second) is not a parameter with x-reference\(EditDistance.hint(for: second, among: referenceParameters.sorted()))")
            } else if parts.count > 2, !Self.referenceFields.contains(parts[2]) {
                report("ref.\(second).\(parts[2]) is not a reference field\(EditDistance.hint(for: parts[2], among: Self.referenceFields.sorted())); fields: \(Self.referenceFields.sorted().joined(separator: ", "))")
            }
        case "directives", "outputs", "rows":
            return
        case "row":
            let fields = step?.rowFields ?? []
            if !fields.contains(second) {
                report("row.\(second) is not a field of the sample sheet\(EditDistance.hint(for: second, among: fields.sorted())); fields: \(fields.sorted().joined(separator: ", "))")
            }
        case "steps":
            let upstream = step?.upstream ?? [:]
            guard let producer = upstream[second] else {
                report("steps.\(second) is neither this step nor one it needs\(EditDistance.hint(for: second, among: upstream.keys.sorted())); add it to needs to use its outputs (steps known here: \(upstream.keys.sorted().joined(separator: ", ")))")
                return
            }
            guard parts.count > 2 else { return }
            if !producer.outputs.contains(parts[2]) {
                report("steps.\(second).\(parts[2]) is not an output of step \(second)\(EditDistance.hint(for: parts[2], among: producer.outputs.sorted())); it declares \(producer.outputs.sorted().joined(separator: ", "))")
            } else if producer.perRow, !(step?.scatters ?? false), !insideRows {
                report("steps.\(second).\(parts[2]) has one path per sample (step \(second) scatters); use it inside {{#rows}}...{{/rows}}")
            }
        default:
            let known = Self.fixedRoots[root] ?? []
            if !known.contains(second) {
                report("\(root).\(second) does not exist\(EditDistance.hint(for: second, among: known.sorted())); \(root) has \(known.sorted().joined(separator: ", "))")
            }
        }
    }

    private static func find(_ needle: String, in chars: [Character], from start: Int) -> Int? {
        let n = Array(needle)
        var i = start
        while i + n.count <= chars.count {
            if Array(chars[i..<(i + n.count)]) == n { return i }
            if chars[i] == "\n", n == ["}", "}"] || n == ["}", "}", "}"] {
                // Mustache tags do not span lines in our templates; an unclosed tag is reported at once.
                return nil
            }
            i += 1
        }
        return nil
    }

    /// The delimiter word of `<<WORD`, `<<-WORD`, `<<'WORD'` or `<<"WORD"`.
    private static func heredocDelimiter(_ chars: [Character], after index: Int) -> (String, Bool)? {
        var i = index
        var strip = false
        if i < chars.count, chars[i] == "-" { strip = true; i += 1 }
        while i < chars.count, chars[i] == " " { i += 1 }
        var word = ""
        while i < chars.count, !chars[i].isWhitespace, chars[i] != ";", chars[i] != ")" {
            if chars[i] != "'" && chars[i] != "\"" { word.append(chars[i]) }
            i += 1
        }
        return word.isEmpty ? nil : (word, strip)
    }

    private static func lineEnding(at newline: Int, in chars: [Character]) -> String {
        var start = newline
        while start > 0, chars[start - 1] != "\n" { start -= 1 }
        return String(chars[start..<newline])
    }
}
