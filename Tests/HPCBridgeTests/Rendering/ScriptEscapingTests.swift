import Foundation
import PropertyBased
import Testing
@testable import HPCBridge

@Suite("Escaping functions")
struct ScriptEscapingTests {
    /// ASCII without NUL: every quote, backslash, shell operator and control character.
    static let asciiStrings = Gen.character(in: "\u{1}"..."\u{7F}").string(of: 0...40)
    /// Beyond ASCII: Latin, Greek, Cyrillic, combining marks, bidi controls, CJK punctuation.
    static let unicodeStrings = Gen.character(in: "\u{1}"..."\u{2FFF}").string(of: 0...40)

    @Test("a shell word reads back as exactly the original string in bash")
    func shellWordRoundTrip() async throws {
        await propertyCheck(count: 40, input: Self.asciiStrings) { value in
            let result = try! await run("/bin/bash", ["-c", "printf '%s' \(ScriptEscaping.shellWord(value))"])
            #expect(result.status == 0)
            #expect(result.stdout == value)
        }
        await propertyCheck(count: 40, input: Self.unicodeStrings) { value in
            let result = try! await run("/bin/bash", ["-c", "printf '%s' \(ScriptEscaping.shellWord(value))"])
            #expect(result.status == 0)
            #expect(result.stdout == value)
        }
    }

    @Test("a shell word is always one word")
    func oneWord() async {
        await propertyCheck(count: 60, input: Self.asciiStrings) { value in
            let result = try! await run("/bin/bash", ["-c", "set -- \(ScriptEscaping.shellWord(value)); echo $#"])
            #expect(result.stdout == "1\n")
        }
    }

    @Test("job names are always safe for directives and start with a letter")
    func jobNames() async {
        await propertyCheck(count: 200, input: Self.unicodeStrings) { value in
            let name = ScriptEscaping.jobName(value)
            #expect(name.count <= 64)
            #expect(name.first?.isLetter == true)
            #expect((try? ScriptEscaping.directiveValue(name, for: "job name")) == name)
        }
    }

    @Test("directive values outside the allowlist are refused", arguments: [
        "a b", "a\nb", "x;y", "'q'", "$(id)", "", "a\"b", "tab\there",
    ])
    func directiveRefusals(value: String) {
        #expect(throws: RenderError.self) { try ScriptEscaping.directiveValue(value, for: "account") }
    }

    @Test("JSON Pointers escape and parse back", arguments: [["a/b", "~c", ""], ["0", "x~1y"], []])
    func pointerRoundTrip(tokens: [String]) {
        let pointer = JSONPointer(tokens: tokens)
        #expect(JSONPointer(parsing: pointer.description) == pointer)
    }

    @Test("ECMA patterns translate without changing their meaning", arguments: [
        ("^a.c$", "a\nc", false), ("^a[^]c$", "a\nc", true), ("\\bx\\b", "éxé", true), ("\\Bx", "ax", true), ("^\\s$", "\u{00A0}", true),
        ("^\\S+$", "abc", true), ("a{2,3}", "aa", true), ("[\\w-]+", "-", true), ("\\u{1F9EC}", "🧬", true),
    ])
    func regexSemantics(pattern: String, text: String, matches: Bool) async throws {
        #expect(try ECMARegex(pattern).matches(text) == matches)
    }
}
