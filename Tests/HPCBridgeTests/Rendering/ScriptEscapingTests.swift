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

    @Test("a directive value is accepted exactly when every character is on the allowlist (checked by byte, meant by character)")
    func directiveAllowlist() async {
        let allowed = Set(ScriptEscaping.directiveCharacters)
        await propertyCheck(count: 300, input: Gen.character(in: "\u{1}"..."\u{2FF}").string(of: 0...12)) { value in
            let expected = !value.isEmpty && value.allSatisfy(allowed.contains)
            #expect(((try? ScriptEscaping.directiveValue(value, for: "account")) != nil) == expected, "\(value.debugDescription)")
        }
        #expect((try? ScriptEscaping.directiveValue("run_2026-12-07/x%a", for: "output file")) == "run_2026-12-07/x%a")
        #expect(throws: RenderError.self) { try ScriptEscaping.directiveValue("caf\u{E9}", for: "account") }
        #expect(throws: RenderError.self) { try ScriptEscaping.directiveValue(String(repeating: "a", count: 4097), for: "account") }
    }

    @Test("a template part is trimmed as by character: trailing newlines and spaces, then leading newlines; CRLF kept")
    func trimmedParts() async {
        func byCharacter(_ text: String) -> String {
            var t = Substring(text)
            while t.last == "\n" || t.last == " " { t = t.dropLast() }
            while t.first == "\n" { t = t.dropFirst() }
            return String(t)
        }
        for text in ["", "\n", " \n ", "\n\nx\n \n", "a\r\n", "a\r\n\n", "\r\n", " \r\n", "x \n", "\n\u{E9}\n", "\n \nbody\n"] {
            #expect(ScriptRenderer.trimmed(text) == byCharacter(text), "\(text.debugDescription)")
        }
        await propertyCheck(count: 300, input: Gen.character(in: "\u{9}"..."\u{7F}").string(of: 0...12)) { body in
            for text in ["\n" + body + " \n", body + "\r\n", "\n\n" + body, body] {
                #expect(ScriptRenderer.trimmed(text) == byCharacter(text), "\(text.debugDescription)")
            }
        }
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
