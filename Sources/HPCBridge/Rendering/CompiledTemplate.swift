/// A batch-script template compiled once per site load, rendered once per script.
///
/// Mustache's own renderer (swift-mustache) split every tag's name on dots and looked each part up
/// through casts of `Any`, and reflected (`Mirror`) on each value a section pushed: at the submission
/// rate, 8 % of the service's CPU. Here a tag's name is split when the template loads, values are
/// `TemplateValue`s, and the text goes straight into one string.
///
/// It renders the subset the `TemplateLinter` admits (text, `{{name}}`, `{{{name}}}`, `{{&name}}`,
/// sections, inverted sections, comments, and the content-type pragma the loader puts first) with the
/// same bytes as swift-mustache 2.x, including its rules for standalone tag lines; the tests render
/// every shipped template and generated ones with both and compare. swift-mustache still parses each
/// template first, for its syntax errors with line and column.
public struct CompiledTemplate: Sendable {
    /// How a value tag's text is made safe where it lands.
    enum Escaping: Sendable {
        /// One single-quoted shell word (`ScriptEscaping.shellWord`).
        case shell
        /// As it is (output paths, and the headers' pre-checked `{{{directives.*}}}`).
        case text
    }

    /// A tag's name, split once: `.` alone is the innermost value; a leading `.` skips the search down
    /// the stack.
    struct Name: Sendable {
        let parts: [String]
        let isCurrent: Bool
        let anchored: Bool

        init(_ text: String) {
            isCurrent = text == "."
            anchored = !isCurrent && text.hasPrefix(".")
            parts = isCurrent ? [] : text.split(separator: ".").map(String.init)
        }
    }

    indirect enum Node: Sendable {
        case text(String)
        case value(Name, Escaping)
        case section(Name, inverted: Bool, body: [Node])
    }

    let nodes: [Node]

    /// Compiles template text with the escaping its values get; what swift-mustache parses as
    /// `{{%CONTENT_TYPE:SHELL}}` (or `TEXT`) followed by `text`.
    init(_ text: String, escaping: Escaping) throws {
        var parser = CompiledTemplate.Parser(text, escaping: escaping)
        nodes = try parser.parseTemplate()
    }

    /// The template rendered with `context` at the bottom of the stack.
    func render(_ context: TemplateValue) -> String {
        var out = ""
        var stack = [context]
        Self.render(nodes, stack: &stack, into: &out)
        return out
    }

    private static func render(_ nodes: [Node], stack: inout [TemplateValue], into out: inout String) {
        for node in nodes {
            switch node {
            case .text(let text):
                out += text
            case .value(let name, let escaping):
                guard let value = resolve(name, in: stack) else { continue }
                switch escaping {
                case .shell: out += ScriptEscaping.shellWord(value.text)
                case .text: out += value.text
                }
            case .section(let name, let inverted, let body):
                let value = resolve(name, in: stack)
                if inverted {
                    renderInverted(body, value, stack: &stack, into: &out)
                } else {
                    renderSection(body, value, stack: &stack, into: &out)
                }
            }
        }
    }

    /// A list renders the body once per item, with the item pushed; `true` once, pushing nothing; any
    /// other value once, pushed; a missing value, null, `false` or an empty list not at all.
    private static func renderSection(_ body: [Node], _ value: TemplateValue?, stack: inout [TemplateValue], into out: inout String) {
        switch value {
        case nil, .null?, .bool(false)?:
            return
        case .bool(true)?:
            render(body, stack: &stack, into: &out)
        case .list(let items)?:
            for item in items {
                stack.append(item)
                render(body, stack: &stack, into: &out)
                stack.removeLast()
            }
        case let value?:
            stack.append(value)
            render(body, stack: &stack, into: &out)
            stack.removeLast()
        }
    }

    /// The body once when the value is missing, null, `false` or an empty list (which is pushed, as
    /// Mustache does); otherwise nothing.
    private static func renderInverted(_ body: [Node], _ value: TemplateValue?, stack: inout [TemplateValue], into out: inout String) {
        switch value {
        case nil, .null?, .bool(false)?:
            render(body, stack: &stack, into: &out)
        case .list(let items)? where items.isEmpty:
            stack.append(.list(items))
            render(body, stack: &stack, into: &out)
            stack.removeLast()
        default:
            return
        }
    }

    /// Mustache's lookup: the first part of the name in the innermost value that has it (a null
    /// member counts as having it), the rest inside that one; a null result is no value.
    private static func resolve(_ name: Name, in stack: [TemplateValue]) -> TemplateValue? {
        var found: TemplateValue?
        if name.isCurrent {
            found = stack.last
        } else if name.anchored {
            found = descend(name.parts[...], from: stack.last)
        } else if let first = name.parts.first {
            for value in stack.reversed() {
                if let member = value.member(first) {
                    found = descend(name.parts.dropFirst(), from: member)
                    break
                }
            }
        } else {
            found = stack.last
        }
        if case .null? = found { return nil }
        return found
    }

    private static func descend(_ parts: ArraySlice<String>, from value: TemplateValue?) -> TemplateValue? {
        var current = value
        for part in parts {
            guard let next = current?.member(part) else { return nil }
            current = next
        }
        return current
    }
}
