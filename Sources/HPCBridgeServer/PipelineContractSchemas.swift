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
    /// checks them: whole numbers as ranges, memory and time limits as the exact set of spellings inside
    /// the bounds (a generator can then only produce values the service takes).
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
        let timeBounds = "between \(ResourceQuantities.timeText(seconds: seconds.lowerBound)) and \(ResourceQuantities.timeText(seconds: seconds.upperBound))"
        let overrides: JSONValue = [
            "type": "object",
            "additionalProperties": false,
            "properties": [
                "cpus": ["type": "integer", "minimum": .number(Double(policy.cpus.lowerBound)), "maximum": .number(Double(policy.cpus.upperBound))],
                "gpus": ["type": "integer", "minimum": .number(Double(policy.gpus.lowerBound)), "maximum": .number(Double(policy.gpus.upperBound))],
                // Text only: the generated request types read both as strings.
                "memory": [
                    "type": "string", "pattern": .string("^(?:\(memorySpellings.joined(separator: "|")))$"),
                    "description": .string("Between \(ResourceQuantities.memoryText(megabytes: memory.lowerBound)) and \(ResourceQuantities.memoryText(megabytes: memory.upperBound)): megabytes, or a size such as 512M or 16G."),
                ],
                "time_limit": [
                    "type": "string", "pattern": .string("^(?:\(timePattern(seconds)))$"),
                    "description": .string("A time limit \(timeBounds): minutes, HH:MM:SS or D-HH:MM:SS (the service also reads Slurm's MM:SS, D-HH and D-HH:MM)."),
                ],
            ],
        ]
        // The generated decoder reads an optional member sent as null as left out: so does the contract.
        guard case .object(var members) = overrides, case .object(let properties)? = members["properties"] else { return overrides }
        members["properties"] = .object(properties.mapValues { ["anyOf": [$0, ["type": "null"]]] })
        return .object(members)
    }

    /// Time limits in `seconds` as Slurm text: whole minutes, `H:MM:SS` and `D-HH:MM:SS` (minutes and
    /// seconds below 60, hours below 24 after a day), each exactly the values inside the bounds.
    static func timePattern(_ seconds: ClosedRange<Int>) -> String {
        guard let positive = clamp(seconds.lowerBound, seconds.upperBound) else { return "(?!)" }
        var forms: [String] = []
        if let minutes = clamp(divideUp(positive.lowerBound, 60), positive.upperBound / 60) { forms.append(decimalPattern(minutes)) }
        func split(_ value: Int, _ radices: [Int]) -> [Int] {
            var rest = value, fields: [Int] = []
            for radix in radices.reversed() { fields.insert(rest % radix, at: 0); rest /= radix }
            return [rest] + fields
        }
        for (radices, separators) in [([60, 60], [":", ":"]), ([24, 60, 60], ["-", ":", ":"])] {
            forms.append(fieldRange(split(positive.lowerBound, radices), split(positive.upperBound, radices), radices, separators, 0))
        }
        return forms.joined(separator: "|")
    }

    /// The texts of the mixed-radix values from `low` to `high` (field by field, most significant first;
    /// the first field is unbounded), from field `index` on.
    private static func fieldRange(_ low: [Int], _ high: [Int], _ radices: [Int], _ separators: [String], _ index: Int) -> String {
        // The first field may be written with or without a leading zero (`00:10:00`, `0:10:00`); the
        // others always have two digits.
        func field(_ a: Int, _ b: Int) -> String {
            var pieces: [String] = []
            if a <= 9 { pieces.append((index == 0 ? "0?" : "0") + (a == min(b, 9) ? "\(a)" : "[\(a)-\(min(b, 9))]")) }
            if b >= 10 { pieces += decimalAlternatives(max(a, 10), b) }
            return "(?:" + pieces.joined(separator: "|") + ")"
        }
        if index == low.count - 1 { return field(low[index], high[index]) }
        let separator = separators[index]
        let last = low.count - 1
        func rest(_ from: [Int], _ to: [Int]) -> String { fieldRange(from, to, radices, separators, index + 1) }
        var top = high, bottom = low
        for i in (index + 1)...last { top[i] = radices[i - 1] - 1; bottom[i] = 0 }
        if low[index] == high[index] { return field(low[index], low[index]) + separator + rest(low, high) }
        var alternatives = [field(low[index], low[index]) + separator + rest(low, top)]
        if low[index] + 1 <= high[index] - 1 { alternatives.append(field(low[index] + 1, high[index] - 1) + separator + rest(bottom, top)) }
        alternatives.append(field(high[index], high[index]) + separator + rest(bottom, high))
        return "(?:" + alternatives.joined(separator: "|") + ")"
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
            // The last segment: at most 240 characters before the suffix, so it stays within 255.
            return "^\(prefix ?? "")(?:/\(segment))*/[^/\(controls)]{0,240}(?:\(body))$"
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
