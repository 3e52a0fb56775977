/// Validates JSON values against a compiled `JSONSchema`, collecting every error instead of stopping at
/// the first, so a user fixes a request in one round trip.
public struct SchemaValidator: Sendable {
    public let schema: JSONSchema

    public init(schema: JSONSchema) { self.schema = schema }

    /// Applies defaults, validates, and rejects control characters in every string that no schema node
    /// explicitly allows them for (newlines and NULs are how values escape into batch scripts).
    public func validate(_ document: JSONValue) -> ValidationResult {
        let withDefaults = applyingDefaults(to: document, node: schema.root)
        var errors: [ValidationError] = []
        var annotations = Annotations()
        check(withDefaults, against: schema.root, at: .root, errors: &errors, annotations: &annotations)
        Self.findControlCharacters(in: withDefaults, at: .root, allowed: annotations.controlAllowed, errors: &errors)
        return ValidationResult(value: withDefaults, errors: Array(Set(errors)).sorted(), paths: annotations.paths.sorted())
    }

    /// The errors of one value against one node, without defaults or the control-character rule.
    func errors(of value: JSONValue, against node: SchemaNode) -> [ValidationError] {
        var errors: [ValidationError] = []
        var annotations = Annotations()
        check(value, against: node, at: .root, errors: &errors, annotations: &annotations)
        return Array(Set(errors)).sorted()
    }

    // MARK: defaults

    /// The schema nodes that describe the same value as `node`: itself, what its `$ref` points at and its
    /// `allOf` members (nf-core puts parameter groups in `$defs` and lists them under `allOf`).
    private func facets(of node: SchemaNode) -> [SchemaNode] {
        var result: [SchemaNode] = []
        var pending = [node]
        var seen: Set<JSONPointer> = []
        while let next = pending.popLast() {
            guard seen.insert(next.location).inserted else { continue }
            result.append(next)
            if let ref = next.ref { pending.append(schema.resolve(ref)) }
            pending.append(contentsOf: next.allOf.reversed())
        }
        return result
    }

    private func applyingDefaults(to value: JSONValue, node: SchemaNode) -> JSONValue {
        let nodes = facets(of: node)
        switch value {
        case .object(var members):
            for facet in nodes {
                for name in facet.properties.keys.sorted() {
                    let property = facet.properties[name]!
                    if members[name] == nil, let fallback = facets(of: property).lazy.compactMap(\.defaultValue).first {
                        members[name] = fallback
                    }
                    if let present = members[name] { members[name] = applyingDefaults(to: present, node: property) }
                }
                // Members described by patternProperties or additionalProperties get their defaults too
                // (maps of named entries, like the config's research groups).
                for name in members.keys.sorted() where facet.properties[name] == nil {
                    let matching = facet.patternProperties.filter { $0.0.matches(name) }.map(\.1)
                    for sub in matching.isEmpty ? [facet.additionalProperties].compactMap({ $0 }) : matching {
                        members[name] = applyingDefaults(to: members[name]!, node: sub)
                    }
                }
            }
            return .object(members)
        case .array(let items):
            // Defaults inside if/then/else and dependentSchemas are not applied: whether they hold depends
            // on the value being completed, so applying them first would be circular.
            let prefix = nodes.first { !$0.prefixItems.isEmpty }?.prefixItems ?? []
            let rest = nodes.lazy.compactMap(\.items).first
            return .array(items.enumerated().map { i, item in
                guard let itemNode = i < prefix.count ? prefix[i] : rest else { return item }
                return applyingDefaults(to: item, node: itemNode)
            })
        default:
            return value
        }
    }

    // MARK: validation

    /// What the schema says about the values that passed (JSON Schema's annotations), by pointer. Only
    /// the alternative of an `anyOf`/`oneOf` that applies contributes, so a string accepted as an s3://
    /// URI is not taken for a path.
    struct Annotations {
        /// Strings whose schema sets `x-allow-control-characters`.
        var controlAllowed: Set<JSONPointer> = []
        /// Strings accepted by a path format: what a site's input roots are checked against.
        var paths: Set<JSONPointer> = []

        mutating func formUnion(_ other: Annotations) {
            controlAllowed.formUnion(other.controlAllowed)
            paths.formUnion(other.paths)
        }
    }

    private func check(_ value: JSONValue, against node: SchemaNode, at here: JSONPointer,
                       errors: inout [ValidationError], annotations: inout Annotations) {
        var local: [ValidationError] = []
        defer {
            // As in ajv-errors (which nf-core schemas use): the author's message replaces every error
            // of this subschema, reported at the value the subschema describes.
            if let custom = node.errorMessage, !local.isEmpty {
                local = [ValidationError(pointer: here, message: custom)]
            }
            errors.append(contentsOf: local)
        }
        func fail(_ message: String, at pointer: JSONPointer? = nil) {
            local.append(ValidationError(pointer: pointer ?? here, message: message))
        }

        if let b = node.booleanValue {
            if !b { fail("is not allowed here") }
            return
        }
        if let ref = node.ref { check(value, against: schema.resolve(ref), at: here, errors: &local, annotations: &annotations) }

        if let types = node.types, !Self.value(value, hasOneOf: types) {
            fail("must be \(Self.describe(types)); got \(value.kindForHumans)\(Self.excerpt(value))")
            return
        }
        if let options = node.enumValues, !options.contains(value) {
            let shown = options.prefix(20).map(Self.show).joined(separator: ", ") + (options.count > 20 ? ", …" : "")
            let hint = value.stringValue.map { EditDistance.hint(for: $0, among: options.compactMap(\.stringValue)) } ?? ""
            fail("must be one of \(shown); got \(Self.show(value))\(hint)")
        }
        if let constant = node.constValue, constant != value {
            fail("must be exactly \(Self.show(constant)); got \(Self.show(value))")
        }

        switch value {
        case .number(let n):
            checkNumber(n, node, fail)
        case .string(let s):
            checkString(s, node, fail)
            if node.allowsControlCharacters { annotations.controlAllowed.insert(here) }
            if node.format?.isPath == true, local.isEmpty { annotations.paths.insert(here) }
        case .array(let items):
            checkArray(items, node, here, &local, &annotations)
        case .object(let members):
            checkObject(members, node, here, &local, &annotations)
        default:
            break
        }

        for sub in node.allOf { check(value, against: sub, at: here, errors: &local, annotations: &annotations) }
        if !node.anyOf.isEmpty {
            let outcomes = node.anyOf.map { branch(value, $0, here) }
            if let passing = outcomes.first(where: { $0.errors.isEmpty }) {
                annotations.formUnion(passing.annotations)
            } else {
                local.append(contentsOf: Self.explainAlternatives(outcomes.map(\.errors), at: here, exactlyOne: false))
            }
        }
        if !node.oneOf.isEmpty {
            let outcomes = node.oneOf.map { branch(value, $0, here) }
            let passing = outcomes.indices.filter { outcomes[$0].errors.isEmpty }
            if passing.count == 1 {
                annotations.formUnion(outcomes[passing[0]].annotations)
            } else if passing.isEmpty {
                local.append(contentsOf: Self.explainAlternatives(outcomes.map(\.errors), at: here, exactlyOne: true))
            } else {
                fail("matches more than one of the allowed forms (numbers \(passing.map { String($0 + 1) }.joined(separator: " and "))); it must match exactly one")
            }
        }
        if let condition = node.ifSchema {
            // The condition's own errors never count; its annotations do when it holds (2020-12).
            let test = branch(value, condition, here)
            if test.errors.isEmpty {
                annotations.formUnion(test.annotations)
                if let then = node.thenSchema { check(value, against: then, at: here, errors: &local, annotations: &annotations) }
            } else if let otherwise = node.elseSchema {
                check(value, against: otherwise, at: here, errors: &local, annotations: &annotations)
            }
        }
        if let excluded = node.not, branch(value, excluded, here).errors.isEmpty {
            if excluded.required.count > 1, case .object = value {
                fail("must not set \(excluded.required.map { "\"\($0)\"" }.joined(separator: " and ")) together; choose one")
            } else {
                fail("has a value this field excludes\(excluded.enumValues.map { " (" + $0.map(Self.show).joined(separator: ", ") + ")" } ?? "")")
            }
        }
    }

    /// One alternative of `anyOf`/`oneOf`/`not`, checked on its own: its annotations count only if the
    /// caller finds that the alternative is the one that applies.
    private func branch(_ value: JSONValue, _ node: SchemaNode, _ here: JSONPointer) -> (errors: [ValidationError], annotations: Annotations) {
        var errors: [ValidationError] = []
        var annotations = Annotations()
        check(value, against: node, at: here, errors: &errors, annotations: &annotations)
        return (errors, annotations)
    }

    /// When no alternative of `anyOf`/`oneOf` fits: alternatives that fail on the value itself (an
    /// absolute path *or* an s3:// URI) are listed together; otherwise the closest alternative's errors
    /// are shown, since they are the ones the user most likely has to fix.
    static func explainAlternatives(_ outcomes: [[ValidationError]], at here: JSONPointer, exactlyOne: Bool) -> [ValidationError] {
        if outcomes.allSatisfy({ $0.allSatisfy { $0.pointer == here } }) {
            let reasons = outcomes.map { Array(Set($0.map(\.message))).sorted().joined(separator: " and ") }
            var unique: [String] = []
            for reason in reasons where !unique.contains(reason) { unique.append(reason) }
            return [ValidationError(pointer: here, message: "does not match any allowed form: \(unique.joined(separator: "; or "))")]
        }
        let closest = outcomes.min { $0.count < $1.count } ?? []
        return closest
    }

    private func checkNumber(_ n: Double, _ node: SchemaNode, _ fail: (String, JSONPointer?) -> Void) {
        let f = JSONValue.format(number:)
        if let m = node.minimum, n < m { fail("must be at least \(f(m)); got \(f(n))", nil) }
        if let m = node.maximum, n > m { fail("must be at most \(f(m)); got \(f(n))", nil) }
        if let m = node.exclusiveMinimum, n <= m { fail("must be greater than \(f(m)); got \(f(n))", nil) }
        if let m = node.exclusiveMaximum, n >= m { fail("must be less than \(f(m)); got \(f(n))", nil) }
        if let m = node.multipleOf {
            let quotient = n / m
            if !quotient.isFinite || abs(quotient - quotient.rounded()) > 1e-9 * max(1, abs(quotient)) {
                fail("must be a multiple of \(f(m)); got \(f(n))", nil)
            }
        }
    }

    private func checkString(_ s: String, _ node: SchemaNode, _ fail: (String, JSONPointer?) -> Void) {
        let length = s.unicodeScalars.count
        if let m = node.minLength, length < m { fail(m == 1 ? "must not be empty" : "must be at least \(m) characters long; got \(length)", nil) }
        if let m = node.maxLength, length > m { fail("must be at most \(m) characters long; got \(length)", nil) }
        if let p = node.pattern, !p.matches(s) { fail("does not have the expected form (pattern \(p.source)); got \(Self.show(.string(s)))", nil) }
        if let format = node.format, let problem = format.problem(with: s, allowedSchemes: node.uriSchemes) { fail(problem, nil) }
    }

    private func checkArray(_ items: [JSONValue], _ node: SchemaNode, _ here: JSONPointer,
                            _ errors: inout [ValidationError], _ annotations: inout Annotations) {
        func fail(_ message: String, _ pointer: JSONPointer?) { errors.append(ValidationError(pointer: pointer ?? here, message: message)) }
        if let m = node.minItems, items.count < m { fail("must list at least \(m) item\(m == 1 ? "" : "s"); got \(items.count)", nil) }
        if let m = node.maxItems, items.count > m { fail("must list at most \(m) item\(m == 1 ? "" : "s"); got \(items.count)", nil) }
        if node.uniqueItems {
            var firstIndex: [JSONValue: Int] = [:]
            for (i, item) in items.enumerated() {
                if let earlier = firstIndex[item] { fail("repeats item \(earlier) (\(Self.show(item))); items must be unique", here.appending(i)) } else { firstIndex[item] = i }
            }
        }
        for (i, item) in items.enumerated() {
            guard let itemNode = i < node.prefixItems.count ? node.prefixItems[i] : node.items else { continue }
            check(item, against: itemNode, at: here.appending(i), errors: &errors, annotations: &annotations)
        }
    }

    private func checkObject(_ members: [String: JSONValue], _ node: SchemaNode, _ here: JSONPointer,
                             _ errors: inout [ValidationError], _ annotations: inout Annotations) {
        func fail(_ message: String, _ pointer: JSONPointer?) { errors.append(ValidationError(pointer: pointer ?? here, message: message)) }
        for name in node.required where members[name] == nil {
            fail("is required but missing", here.appending(name))
        }
        for (name, needs) in node.dependentRequired where members[name] != nil {
            for other in needs where members[other] == nil { fail("is required when \"\(name)\" is given", here.appending(other)) }
        }
        for name in node.dependentSchemas.keys.sorted() where members[name] != nil {
            check(.object(members), against: node.dependentSchemas[name]!, at: here, errors: &errors, annotations: &annotations)
        }
        if let m = node.minProperties, members.count < m { fail("must have at least \(m) entries; got \(members.count)", nil) }
        if let m = node.maxProperties, members.count > m { fail("must have at most \(m) entries; got \(members.count)", nil) }
        for name in members.keys.sorted() {
            let value = members[name]!
            let at = here.appending(name)
            var matched = false
            if let property = node.properties[name] {
                matched = true
                check(value, against: property, at: at, errors: &errors, annotations: &annotations)
            }
            for (regex, sub) in node.patternProperties where regex.matches(name) {
                matched = true
                check(value, against: sub, at: at, errors: &errors, annotations: &annotations)
            }
            if let names = node.propertyNames {
                for error in self.errors(of: .string(name), against: names) {
                    fail("has a name that is not allowed: \(error.message)", at)
                }
            }
            if !matched, let additional = node.additionalProperties {
                if additional.booleanValue == false {
                    fail("is not a known parameter\(EditDistance.hint(for: name, among: node.properties.keys.sorted()))", at)
                } else {
                    check(value, against: additional, at: at, errors: &errors, annotations: &annotations)
                }
            }
        }
    }

    // MARK: control characters

    /// Unicode Cc (C0, DEL, C1) and the line/paragraph separators: every character that can end a line
    /// or hide in a terminal.
    static func firstControlCharacter(in s: String) -> (offset: Int, scalar: Unicode.Scalar)? {
        for (i, scalar) in s.unicodeScalars.enumerated() {
            let v = scalar.value
            if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 { return (i, scalar) }
        }
        return nil
    }

    static func controlCharacterMessage(_ found: (offset: Int, scalar: Unicode.Scalar)) -> String {
        let names: [UInt32: String] = [0: "a NUL byte", 9: "a tab", 10: "a line break", 13: "a carriage return", 0x1B: "an escape character"]
        let name = names[found.scalar.value] ?? String(format: "a control character (U+%04X)", found.scalar.value)
        return "contains \(name) at character \(found.offset + 1); control characters are not allowed in this field"
    }

    private static func findControlCharacters(in value: JSONValue, at here: JSONPointer, allowed: Set<JSONPointer>, errors: inout [ValidationError]) {
        switch value {
        case .string(let s):
            if !allowed.contains(here), let found = firstControlCharacter(in: s) {
                errors.append(ValidationError(pointer: here, message: controlCharacterMessage(found)))
            }
        case .array(let items):
            for (i, item) in items.enumerated() { findControlCharacters(in: item, at: here.appending(i), allowed: allowed, errors: &errors) }
        case .object(let members):
            for (name, member) in members {
                let at = here.appending(name)
                if let found = firstControlCharacter(in: name) {
                    errors.append(ValidationError(pointer: at, message: "has a name that " + controlCharacterMessage(found)))
                }
                findControlCharacters(in: member, at: at, allowed: allowed, errors: &errors)
            }
        default:
            break
        }
    }

    // MARK: wording

    static func value(_ value: JSONValue, hasOneOf types: Set<String>) -> Bool {
        switch value {
        case .null: return types.contains("null")
        case .bool: return types.contains("boolean")
        case .string: return types.contains("string")
        case .array: return types.contains("array")
        case .object: return types.contains("object")
        case .number(let n): return types.contains("number") || (types.contains("integer") && n.isIntegral)
        }
    }

    static func describe(_ types: Set<String>) -> String {
        let words: [String: String] = [
            "null": "null", "boolean": "true or false", "object": "an object", "array": "a list",
            "number": "a number", "integer": "a whole number", "string": "text",
        ]
        return types.sorted().map { words[$0] ?? $0 }.joined(separator: " or ")
    }

    /// The value in JSON, shortened so a 10 MB string does not end up in an error message.
    static func show(_ value: JSONValue) -> String {
        let text = value.jsonText
        return text.count > 80 ? String(text.prefix(77)) + "…" : text
    }

    private static func excerpt(_ value: JSONValue) -> String {
        switch value {
        case .string, .number, .bool: return " (\(show(value)))"
        default: return ""
        }
    }
}
