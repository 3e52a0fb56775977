import Mustache

/// The only ways a value reaches a batch script, one per context it can land in.
///
/// - A **shell word** is single-quoted: inside `'...'` bash gives no character a meaning, so `$(...)`,
///   backticks, `;`, newlines and quotes are inert. A `'` in the value is written as `'\''`.
/// - A **directive value** (`#SBATCH --account=VALUE`, `#PBS -N VALUE`) cannot be quoted safely: sbatch
///   and qsub parse these lines themselves, and a newline would end the directive and start shell code.
///   So directive values are never escaped, only checked against a strict allowlist, and refused if they
///   fall outside it. User text never goes into a directive as-is: job names are sanitised first.
public enum ScriptEscaping {
    /// `value` as one single-quoted shell word. Total for every string without NUL (which a bash script
    /// cannot carry at all, and which the renderer refuses before any template runs).
    /// Most values hold no quote and are only wrapped (Foundation's search and replace on every value
    /// of every script was a measurable share of a submission's CPU).
    public static func shellWord(_ value: String) -> String {
        guard value.utf8.contains(UInt8(ascii: "'")) else { return "'" + value + "'" }
        return "'" + value.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// Characters allowed in directive values: enough for names, numbers, times and run-directory paths,
    /// and the array-index patterns of log paths (Slurm's `%a`, PBS's `^array_index^`).
    static let directiveCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-:/=+,@%^"

    /// The allowlist by byte (all of it is ASCII), so a value is checked without breaking it into
    /// characters.
    static let directiveBytes: [Bool] = {
        var allowed = [Bool](repeating: false, count: 256)
        for byte in directiveCharacters.utf8 { allowed[Int(byte)] = true }
        return allowed
    }()

    /// `value` unchanged when every character is allowlisted and it is not empty, else an error.
    public static func directiveValue(_ value: String, for directive: String) throws -> String {
        guard !value.isEmpty, value.utf8.count <= 4096, value.utf8.allSatisfy({ directiveBytes[Int($0)] }) else {
            throw RenderError.unsafeDirective(directive: directive, value: value)
        }
        return value
    }

    /// A scheduler job name from free text: letters, digits, `_ . -` only, starting with a letter (PBS
    /// requires it), at most 64 characters. Runs of other characters become one `_`.
    public static func jobName(_ text: String) -> String {
        var name = ""
        var lastWasReplacement = false
        for scalar in text.unicodeScalars {
            let ok = scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "_.-".unicodeScalars.contains(scalar))
            if ok {
                name.unicodeScalars.append(scalar)
                lastWasReplacement = false
            } else if !lastWasReplacement {
                name += "_"
                lastWasReplacement = true
            }
        }
        if !(name.first?.isLetter ?? false) { name = "hb" + (name.hasPrefix("_") ? "" : "_") + name }
        return String(name.prefix(64))
    }
}

/// The Mustache content type of batch-script templates: every `{{value}}` becomes a single-quoted shell
/// word. Registered once, under the name `SHELL`, before any template is parsed.
struct ShellContentType: MustacheContentType {
    static let name = "SHELL"
    static let registered: Void = MustacheContentTypes.register(ShellContentType(), named: name)

    func escapeText(_ text: String) -> String { ScriptEscaping.shellWord(text) }
}

import Foundation
