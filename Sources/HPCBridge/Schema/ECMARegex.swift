import Foundation

/// A JSON Schema `pattern`: an ECMA-262 regular expression (Unicode mode), run on ICU.
///
/// JSON Schema patterns are ECMA-262, but the engines on Linux are ICU (`NSRegularExpression`) and
/// Swift `Regex`, and Swift's `Regex` has no lookbehind. The two dialects disagree in places that matter
/// for validation: in ECMA `$` is the end of the input while ICU's `$` also matches before a final
/// newline (so `^[a-z]+$` would accept `"abc\n"`), and `\d`, `\w`, `\b` are ASCII in ECMA but Unicode in
/// ICU. This type translates the ECMA syntax to an equivalent ICU pattern, rejects what is not ECMA
/// (inline flags, `\A`, POSIX classes), and reports ICU's one real limit (a lookbehind must have a
/// bounded length) as a load-time error instead of a surprise.
public struct ECMARegex: Sendable, CustomStringConvertible {
    /// The pattern as written in the catalog.
    public let source: String
    /// The translated pattern given to ICU, kept for diagnostics.
    public let icuPattern: String
    private let regex: NSRegularExpression

    /// Why a pattern could not be used.
    public struct SyntaxError: Error, CustomStringConvertible, Sendable {
        public let pattern: String
        public let problem: String
        public var description: String { "invalid pattern \(JSONValue.quote(pattern)): \(problem)" }
    }

    public init(_ source: String) throws {
        self.source = source
        self.icuPattern = try Self.translate(source)
        do {
            self.regex = try NSRegularExpression(pattern: icuPattern, options: [])
        } catch {
            let lookbehind = source.contains("(?<=") || source.contains("(?<!")
            throw SyntaxError(
                pattern: source,
                problem: lookbehind
                    ? "the regular expression engine rejected it; a lookbehind must have a bounded length here (write {1,64} instead of + or *)"
                    : "the regular expression engine rejected it; check brackets, quantifiers and escapes")
        }
    }

    public var description: String { source }

    /// True when the pattern matches anywhere in `text` (JSON Schema patterns are not anchored).
    public func matches(_ text: String) -> Bool {
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return regex.firstMatch(in: text, options: [], range: range) != nil
    }

    private static let digit = "0-9"
    private static let word = "A-Za-z0-9_"
    private static let space =
        "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}"
    private static let wordBoundary = "(?:(?<=[\(word)])(?![\(word)])|(?<![\(word)])(?=[\(word)]))"
    private static let notWordBoundary = "(?:(?<=[\(word)])(?=[\(word)])|(?<![\(word)])(?![\(word)]))"
    private static let syntaxCharacters: Set<Character> = ["^", "$", "\\", ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "/"]

    /// Translates ECMA-262 (Unicode mode) syntax into the ICU dialect, character by character.
    static func translate(_ pattern: String) throws -> String {
        let chars = Array(pattern)
        var out = ""
        var i = 0
        var inClass = false
        func fail(_ problem: String) -> SyntaxError { SyntaxError(pattern: pattern, problem: problem) }
        func hex(_ count: Int, from start: Int) throws -> String {
            guard start + count <= chars.count else { throw fail("incomplete hex escape") }
            let digits = String(chars[start..<start + count])
            guard digits.allSatisfy(\.isHexDigit) else { throw fail("\\x and \\u need hex digits, got \(digits)") }
            return digits
        }
        func classSet(_ body: String, negated: Bool) -> String {
            if inClass { return negated ? "[^\(body)]" : body }
            return negated ? "[^\(body)]" : "[\(body)]"
        }

        while i < chars.count {
            let c = chars[i]
            if c == "\\" {
                guard i + 1 < chars.count else { throw fail("it ends with a lone backslash") }
                let n = chars[i + 1]
                i += 2
                switch n {
                case "d": out += classSet(digit, negated: false)
                case "D": out += classSet(digit, negated: true)
                case "w": out += classSet(word, negated: false)
                case "W": out += classSet(word, negated: true)
                case "s": out += classSet(space, negated: false)
                case "S": out += classSet(space, negated: true)
                case "b": out += inClass ? "\\x{08}" : wordBoundary
                case "B":
                    guard !inClass else { throw fail("\\B is not allowed inside [...]") }
                    out += notWordBoundary
                case "f": out += "\\f"
                case "n": out += "\\n"
                case "r": out += "\\r"
                case "t": out += "\\t"
                case "v": out += "\\x{0B}"
                case "c":
                    guard i < chars.count, let v = chars[i].asciiValue, chars[i].isLetter else {
                        throw fail("\\c must be followed by a letter")
                    }
                    out += String(format: "\\x{%02X}", Int(v) % 32)
                    i += 1
                case "0":
                    guard i >= chars.count || !chars[i].isNumber else { throw fail("octal escapes are not allowed") }
                    out += "\\x{00}"
                case "1"..."9":
                    guard !inClass else { throw fail("a back-reference is not allowed inside [...]") }
                    out += "\\\(n)"
                    while i < chars.count, chars[i].isASCII, chars[i].isNumber { out.append(chars[i]); i += 1 }
                case "x":
                    out += "\\x{\(try hex(2, from: i))}"
                    i += 2
                case "u":
                    if i < chars.count, chars[i] == "{" {
                        guard let close = chars[i...].firstIndex(of: "}") else { throw fail("\\u{ is not closed") }
                        let digits = String(chars[(i + 1)..<close])
                        guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy(\.isHexDigit) else {
                            throw fail("\\u{...} needs 1 to 6 hex digits")
                        }
                        out += "\\x{\(digits)}"
                        i = close + 1
                    } else {
                        out += "\\x{\(try hex(4, from: i))}"
                        i += 4
                    }
                case "p", "P":
                    guard i < chars.count, chars[i] == "{", let close = chars[i...].firstIndex(of: "}") else {
                        throw fail("\\\(n) must be followed by a property in braces, like \\p{L}")
                    }
                    out += "\\\(n)" + String(chars[i...close])
                    i = close + 1
                case "k":
                    guard !inClass, i < chars.count, chars[i] == "<", let close = chars[i...].firstIndex(of: ">") else {
                        throw fail("\\k must name a group, like \\k<name>")
                    }
                    out += "\\k" + String(chars[i...close])
                    i = close + 1
                case "-" where inClass:
                    out += "\\-"
                case _ where syntaxCharacters.contains(n):
                    out += "\\\(n)"
                default:
                    throw fail("\\\(n) is not an escape in ECMA-262 regular expressions")
                }
                continue
            }
            if inClass {
                switch c {
                case "]":
                    inClass = false
                    out += "]"
                case "-":
                    out += (i + 1 < chars.count && chars[i + 1] == "-") ? "\\-" : "-"
                case "[":
                    out += "\\["
                case _ where c.isASCII && !c.isLetter && !c.isNumber:
                    // ICU gives meaning to & [ $ { } : ~ and whitespace inside sets; ECMA does not.
                    out += "\\\(c)"
                default:
                    out.append(c)
                }
                i += 1
                continue
            }
            switch c {
            case "[":
                let negated = i + 1 < chars.count && chars[i + 1] == "^"
                let bodyStart = i + (negated ? 2 : 1)
                if bodyStart < chars.count, chars[bodyStart] == "]" {
                    out += negated ? "(?s:.)" : "(?!)"  // ECMA: [^] is any character, [] is none
                    i = bodyStart + 1
                    continue
                }
                inClass = true
                out += negated ? "[^" : "["
                i = bodyStart
                continue
            case ".":
                out += "[^\\n\\r\\x{2028}\\x{2029}]"
            case "$":
                out += "\\z"
            case "(":
                if i + 1 < chars.count, chars[i + 1] == "?" {
                    let rest = String(chars[(i + 2)...].prefix(2))
                    let allowed = rest.hasPrefix(":") || rest.hasPrefix("=") || rest.hasPrefix("!")
                        || rest == "<=" || rest == "<!" || (rest.hasPrefix("<") && rest.count == 2 && rest.last!.isLetter)
                    guard allowed else {
                        throw fail("(?\(rest.prefix(1)) is not ECMA-262 syntax (inline flags and atomic groups are not supported)")
                    }
                }
                out += "("
            default:
                out.append(c)
            }
            i += 1
        }
        if inClass { throw fail("a [ is not closed") }
        return out
    }
}
