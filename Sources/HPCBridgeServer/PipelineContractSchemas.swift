import Foundation
import HPCBridge

/// A pipeline's catalog schemas rewritten as plain JSON Schema for the served contract, so a client (or
/// a generator such as schemathesis) can build typed requests that the service accepts.
///
/// The catalog dialect checks things standard JSON Schema leaves to the application: the path and URI
/// formats, the group's input roots and the ban on control characters. Where a rule can be written as a
/// pattern it is (a path format becomes a pattern of normalised absolute paths under the input roots of
/// the groups that may run the pipeline, joined with the catalog's own suffix pattern); where it cannot
/// (symbolic links, another group's root, a time limit's bounds in text), the contract's 422 says so.
enum PipelineContractSchemas {
    /// The characters the service refuses in any string (`SchemaValidator.firstControlCharacter`), as
    /// the inside of a regular-expression class (the same in ECMA-262 and Python).
    static let controlCharacters = "\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029"
    /// One path segment: not `.` or `..`, no `/` or control character, at most 255 characters.
    static let segment: String = {
        let c = "[^/\(controlCharacters)]", first = "[^/.\(controlCharacters)]"
        return "(?:\(first)\(c){0,254}|\\.\(first)\(c){0,253}|\\.\\.\(c){1,253})"
    }()
    static let pathFormats: Set<String> = ["absolute-path", "file-path", "directory-path", "path"]

    /// The parameter (or sample-sheet row) schema as component `component` of the contract: local
    /// `$ref`s point into the component, formats become patterns, free text refuses control characters.
    static func schema(_ document: JSONValue, component: String, inputRoots: [String]?) -> JSONValue {
        var rewriter = Rewriter(component: component, roots: inputRoots)
        return rewriter.translate(document, inheritedPattern: nil)
    }

    /// The resource overrides a request may send for one step, with the step's bounds as the service
    /// checks them: whole numbers as ranges, memory as the exact set of spellings inside the bounds, and
    /// a time limit as integer minutes or Slurm's text forms (whose bounds the description gives).
    static func resources(_ policy: ResourcePolicy) -> JSONValue {
        let memory = policy.memoryMB
        var memorySpellings: [String] = []
        func add(_ range: ClosedRange<Int>?, _ units: String) {
            guard let range else { return }
            memorySpellings.append("\(decimalPattern(range))\(units)")
        }
        add(clamp(memory.lowerBound, memory.upperBound), "[Mm]?")
        add(clamp(divideUp(memory.lowerBound, 1024), memory.upperBound / 1024), "[Gg]")
        add(clamp(divideUp(memory.lowerBound, 1 << 20), memory.upperBound / (1 << 20)), "[Tt]")
        add(clamp((memory.lowerBound - 1) * 1024 + 1, memory.upperBound * 1024), "[Kk]")
        let seconds = policy.timeLimitSeconds
        let minutes = clamp(divideUp(seconds.lowerBound, 60), seconds.upperBound / 60)
        let timeBounds = "between \(ResourceQuantities.timeText(seconds: seconds.lowerBound)) and \(ResourceQuantities.timeText(seconds: seconds.upperBound))"
        var timeForms: [JSONValue] = [
            ["type": "string", "pattern": .string("^(?:[0-9]+-)?[0-9]+(?::[0-9]+){0,2}$"),
             "description": .string("Slurm's spelling: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS, \(timeBounds) for this step (a time outside them is answered 422)")],
        ]
        if let minutes {
            timeForms.insert(["type": "integer", "minimum": .number(Double(minutes.lowerBound)), "maximum": .number(Double(minutes.upperBound)), "description": "Minutes."], at: 0)
        }
        return [
            "type": "object",
            "additionalProperties": false,
            "properties": [
                "cpus": ["type": "integer", "minimum": .number(Double(policy.cpus.lowerBound)), "maximum": .number(Double(policy.cpus.upperBound))],
                "gpus": ["type": "integer", "minimum": .number(Double(policy.gpus.lowerBound)), "maximum": .number(Double(policy.gpus.upperBound))],
                "memory": [
                    "description": .string("Between \(ResourceQuantities.memoryText(megabytes: memory.lowerBound)) and \(ResourceQuantities.memoryText(megabytes: memory.upperBound)): megabytes as a number, or text such as 512M or 16G."),
                    "anyOf": [
                        ["type": "integer", "minimum": .number(Double(memory.lowerBound)), "maximum": .number(Double(memory.upperBound))],
                        ["type": "string", "pattern": .string("^(?:\(memorySpellings.joined(separator: "|")))$")],
                    ],
                ],
                "time_limit": ["description": .string("A time limit \(timeBounds)."), "anyOf": .array(timeForms)],
            ],
        ]
    }

    private static func divideUp(_ n: Int, _ d: Int) -> Int { (n + d - 1) / d }
    /// The positive part of low...high, or nil when there is none (the service refuses 0 for both).
    private static func clamp(_ low: Int, _ high: Int) -> ClosedRange<Int>? {
        let low = max(low, 1)
        return low <= high ? low...high : nil
    }

    /// A regular expression for exactly the decimal numbers in `range` (no sign, no leading zeros).
    static func decimalPattern(_ range: ClosedRange<Int>) -> String {
        "(?:" + decimalAlternatives(range.lowerBound, range.upperBound).joined(separator: "|") + ")"
    }

    /// Splits low...high into pieces that one pattern each covers: numbers of one length, a shared
    /// prefix, one class for the digit that varies, `[0-9]` for every digit after it.
    private static func decimalAlternatives(_ low: Int, _ high: Int) -> [String] {
        if low > high { return [] }
        let lowDigits = String(low).count, highDigits = String(high).count
        if lowDigits < highDigits {
            let top = Int(String(repeating: "9", count: lowDigits))!
            return decimalAlternatives(low, top) + decimalAlternatives(top + 1, high)
        }
        var pieces: [String] = []
        var start = low
        while start <= high {
            // The largest aligned block of 10^k numbers that starts here and fits.
            var size = 1, trailing = 0
            while start % (size * 10) == 0, start + size * 10 - 1 <= high { size *= 10; trailing += 1 }
            // As many such blocks as share the digit above them.
            let digit = (start / size) % 10
            var count = 1
            while digit + count <= 9, start + (count + 1) * size - 1 <= high { count += 1 }
            let prefix = start / size >= 10 ? String(start / (size * 10)) : ""
            let varying = count == 1 ? "\(digit)" : "[\(digit)-\(digit + count - 1)]"
            pieces.append(prefix + varying + String(repeating: "[0-9]", count: trailing))
            start += count * size
        }
        return pieces
    }

    /// Walks a schema document, rewriting what the catalog dialect means into plain JSON Schema.
    private struct Rewriter {
        let component: String
        let roots: [String]?

        init(component: String, roots: [String]?) {
            self.component = component
            // A root of `/` allows every absolute path: no prefix to state.
            self.roots = roots.flatMap { $0.contains("/") ? nil : $0 }
        }

        static let schemaMaps = ["properties", "patternProperties", "$defs", "dependentSchemas"]
        static let schemaLists = ["allOf", "anyOf", "oneOf", "prefixItems"]
        static let schemaValues = ["additionalProperties", "items", "not", "if", "then", "else", "propertyNames", "contains"]

        mutating func translate(_ node: JSONValue, inheritedPattern: String?) -> JSONValue {
            guard case .object(var members) = node else { return node }
            members["$schema"] = nil
            if let ref = members["$ref"]?.stringValue, ref.hasPrefix("#") {
                members["$ref"] = .string("#/components/schemas/\(component)" + ref.dropFirst())
            }
            for key in Self.schemaMaps {
                guard case .object(let children)? = members[key] else { continue }
                members[key] = .object(children.mapValues { translate($0, inheritedPattern: nil) })
            }
            for key in Self.schemaValues {
                if let child = members[key] { members[key] = translate(child, inheritedPattern: nil) }
            }
            // A pattern beside alternatives that each name a format (a path, or an s3:// URI) is joined
            // into each alternative's pattern: a generator cannot intersect two regular expressions.
            let ownPattern = members["pattern"]?.stringValue
            for key in ["anyOf", "oneOf"] {
                guard case .array(let branches)? = members[key] else { continue }
                let formatted = branches.allSatisfy { $0["format"]?.stringValue != nil }
                if formatted, ownPattern != nil {
                    members[key] = .array(branches.map { translate($0, inheritedPattern: ownPattern) })
                    members["pattern"] = nil
                } else {
                    members[key] = .array(branches.map { translate($0, inheritedPattern: nil) })
                }
            }
            for key in ["allOf", "prefixItems"] {
                guard case .array(let branches)? = members[key] else { continue }
                members[key] = .array(branches.map { translate($0, inheritedPattern: nil) })
            }
            rewriteString(&members, inheritedPattern: inheritedPattern)
            return .object(members)
        }

        /// Formats into patterns, and control characters refused in free text.
        private func rewriteString(_ members: inout [String: JSONValue], inheritedPattern: String?) {
            let pattern = inheritedPattern ?? members["pattern"]?.stringValue
            let controls = PipelineContractSchemas.controlCharacters
            if let format = members["format"]?.stringValue {
                var written: String?
                if PipelineContractSchemas.pathFormats.contains(format) {
                    written = pathPattern(suffix: pattern)
                    if written != nil { members["maxLength"] = 4096 }
                } else if format == "uri" {
                    written = uriPattern(suffix: pattern, schemes: members["x-uri-schemes"]?.arrayValue?.compactMap(\.stringValue))
                }
                if let written {
                    members["x-format"] = .string(format)
                    members["format"] = nil
                    members["x-uri-schemes"] = nil
                    members["pattern"] = .string(written)
                }
                return
            }
            let types = members["type"].flatMap { $0.stringValue.map { [$0] } ?? $0.arrayValue?.compactMap(\.stringValue) } ?? []
            guard types.contains("string"), members["enum"] == nil, members["const"] == nil,
                  members["x-allow-control-characters"]?.boolValue != true else { return }
            if let pattern {
                // An anchored pattern already says which characters are allowed; a suffix one is extended.
                if let body = Self.suffixBody(pattern) { members["pattern"] = .string("^[^\(controls)]*(?:\(body))$") }
            } else {
                members["pattern"] = .string("^[^\(controls)]*$")
            }
        }

        /// The body of a pattern that constrains only the end of a value (`[.]fq$`), or nil.
        static func suffixBody(_ pattern: String) -> String? {
            guard pattern.hasSuffix("$"), !pattern.hasPrefix("^"), !pattern.hasSuffix("\\$") else { return nil }
            return String(pattern.dropLast())
        }

        /// A normalised absolute path under one of the roots, ending as `suffix` says; nil when the
        /// catalog's pattern is not one this can join (the format then stays as written).
        private func pathPattern(suffix: String?) -> String? {
            let controls = PipelineContractSchemas.controlCharacters, segment = PipelineContractSchemas.segment
            let prefix = roots.map { "(?:" + $0.map(NSRegularExpression.escapedPattern(for:)).joined(separator: "|") + ")" }
            guard let suffix else {
                return prefix.map { "^\($0)(?:/\(segment))*/?$" } ?? "^/(?:\(segment)(?:/\(segment))*/?)?$"
            }
            guard let body = Self.suffixBody(suffix), !body.contains("/") else { return nil }
            return "^\(prefix ?? "")(?:/\(segment))*/[^/\(controls)]*(?:\(body))$"
        }

        /// A URI of one of the schemes (any letter case), without the characters the service refuses.
        private func uriPattern(suffix: String?, schemes: [String]?) -> String? {
            guard let schemes, !schemes.isEmpty else { return nil }
            let caseless = schemes.map { scheme in
                scheme.map { $0.isLetter ? "[\($0.lowercased())\($0.uppercased())]" : NSRegularExpression.escapedPattern(for: String($0)) }.joined()
            }
            let rest = "[^\\s\"<>\\\\\(PipelineContractSchemas.controlCharacters)]"
            guard let suffix else { return "^(?:\(caseless.joined(separator: "|"))):\(rest)+$" }
            guard let body = Self.suffixBody(suffix) else { return nil }
            return "^(?:\(caseless.joined(separator: "|"))):\(rest)*(?:\(body))$"
        }
    }
}
