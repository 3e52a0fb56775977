extension CompiledTemplate {
    /// Why a template does not compile. The loader reports these with the file; swift-mustache has
    /// parsed the same text first, so what is left is what this renderer does not do.
    struct CompileError: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads template text into nodes by Mustache's rules as swift-mustache 2.x applies them.
    ///
    /// The rule that makes this more than a tokenizer is Mustache's standalone line: a section,
    /// inverted-section, closing or comment tag alone on its line (only spaces and tabs beside it)
    /// takes its line, newline included, out of the output. What counts as "alone" follows
    /// swift-mustache exactly, quirks included, since scripts must keep their bytes:
    /// - a line's leading blanks are held back until something on the line shows it is not standalone;
    /// - after a section, the line state is the one its opening tag left (the closing tag's does not
    ///   carry over), so a tag right after an inline section's standalone close is not standalone;
    /// - the content-type pragma before the text counts as a tag on the text's first line.
    struct Parser {
        private let chars: [Character]
        private var position = 0
        private let escaping: Escaping

        init(_ text: String, escaping: Escaping) {
            chars = Array(text)
            self.escaping = escaping
        }

        /// The whole template. The pragma the loader puts before the text is read as swift-mustache
        /// reads it: on a line of its own when the text starts with a blank line.
        mutating func parseTemplate() throws -> [Node] {
            let pragmaStandsAlone = lineFinished()
            return try parseNodes(closing: nil, atLineStart: pragmaStandsAlone)
        }

        private var atEnd: Bool { position == chars.count }
        /// The character at the position; NUL at the end, which is nothing the parser looks for.
        private var current: Character { atEnd ? "\0" : chars[position] }

        /// The nodes up to the closing tag of `closing` (or the end of the text when nil).
        private mutating func parseNodes(closing: String?, atLineStart: Bool) throws -> [Node] {
            var nodes: [Node] = []
            var lineStart = atLineStart
            // Blanks read at the start of a line: output only once the line turns out not to be a
            // standalone tag's.
            var heldBlanks = ""
            func flushBlanks() {
                if !heldBlanks.isEmpty { nodes.append(.text(heldBlanks)) }
                heldBlanks = ""
            }
            while !atEnd {
                if lineStart { heldBlanks = read(while: { $0 == " " || $0 == "\t" }) }
                let text = readTextUntilTagOrLineBreak()
                if current.isNewline {
                    nodes.append(.text(heldBlanks + text + String(current)))
                    position += 1
                    lineStart = true
                    continue
                }
                if !text.isEmpty {
                    nodes.append(.text(heldBlanks + text))
                    heldBlanks = ""
                    lineStart = false
                }
                if atEnd { break }
                var standalone = false
                switch current {
                case "#", "^":
                    let inverted = current == "^"
                    position += 1
                    let name = try readName()
                    standalone = lineStart && lineFinished()
                    if !standalone { flushBlanks() }
                    let body = try parseNodes(closing: name, atLineStart: standalone)
                    nodes.append(.section(Name(name), inverted: inverted, body: body))
                case "/":
                    position += 1
                    let name = try readName()
                    guard name == closing else {
                        throw CompileError(description: "{{/\(name)}} closes a section that is not open" + (closing.map { " (the open one is \($0))" } ?? ""))
                    }
                    if !(lineStart && lineFinished()) { flushBlanks() }
                    return nodes
                case "!":
                    position += 1
                    try skipComment()
                    standalone = lineStart && lineFinished()
                case "{":
                    flushBlanks()
                    position += 1
                    let name = try readName()
                    guard current == "}" else { throw CompileError(description: "{{{\(name)}} is not closed with }}}") }
                    position += 1
                    nodes.append(.value(Name(name), .text))
                case "&":
                    flushBlanks()
                    position += 1
                    nodes.append(.value(Name(try readName()), .text))
                case "=", ">", "<", "$", "%":
                    throw CompileError(description: "{{\(current)...}} (delimiter changes, partials, blocks, pragmas) is not supported in batch-script templates")
                default:
                    flushBlanks()
                    nodes.append(.value(Name(try readName()), escaping))
                }
                lineStart = standalone
            }
            if let closing { throw CompileError(description: "section {{#\(closing)}} is not closed") }
            return nodes
        }

        /// Text up to a line break (left unread) or a tag's `{{` (read).
        private mutating func readTextUntilTagOrLineBreak() -> String {
            var text = ""
            while !atEnd {
                let c = chars[position]
                if c == "\n" || c == "\r\n" { break }
                if c == "{", position + 1 < chars.count, chars[position + 1] == "{" {
                    position += 2
                    break
                }
                text.append(c)
                position += 1
            }
            return text
        }

        /// A tag's name and its closing `}}`. Mustache's transforms (`name(value)`) are refused.
        private mutating func readName() throws -> String {
            _ = read(while: \.isWhitespace)
            let name = read(while: { Self.nameCharacters.contains($0) })
            _ = read(while: \.isWhitespace)
            guard readClosingBraces() else { throw CompileError(description: "the tag {{\(name)... is not closed with }}") }
            guard !name.contains("("), !name.contains(")") else {
                throw CompileError(description: "{{\(name)}} applies a Mustache transform, which batch-script templates do not support")
            }
            return name
        }

        private mutating func skipComment() throws {
            while position + 1 < chars.count {
                if chars[position] == "}", chars[position + 1] == "}" {
                    position += 2
                    return
                }
                position += 1
            }
            throw CompileError(description: "a comment is not closed with }}")
        }

        private mutating func readClosingBraces() -> Bool {
            guard position + 1 < chars.count, chars[position] == "}", chars[position + 1] == "}" else { return false }
            position += 2
            return true
        }

        /// Whether only spaces and tabs remain on the line; if so, they and the line break are read.
        private mutating func lineFinished() -> Bool {
            if atEnd { return true }
            var end = position
            while end < chars.count, chars[end] == " " || chars[end] == "\t" { end += 1 }
            guard end < chars.count, chars[end].isNewline else { return false }
            position = end + 1
            return true
        }

        private mutating func read(while belongs: (Character) -> Bool) -> String {
            let start = position
            while !atEnd, belongs(chars[position]) { position += 1 }
            return String(chars[start..<position])
        }

        /// What swift-mustache reads as a tag's name (brackets included, to see a transform).
        private static let nameCharacters = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_?*()")
    }
}
