import Foundation
import HPCBridge

/// The submit form of a pipeline, generated from its parameter schema: one input per top-level
/// parameter, the typed text turned back into parameters, and the validator's errors put beside the
/// inputs they are about.
///
/// The form only helps; the API's validator stays the judge. So the form never checks or corrects what
/// was typed: text that is not the number a field wants is sent as text, an empty input is left out, and
/// the validator then refuses it in its own words at the parameter's pointer, exactly as it would for a
/// JSON client. The hints shown beside an input come from the same schema keywords the validator checks.
public struct SchemaForm: Sendable {
    /// One top-level parameter of a pipeline, as one input of the form.
    public struct Field: Sendable {
        /// How the parameter is typed into the form.
        public enum Kind: Sendable, Hashable {
            case text
            case integer
            case number
            case boolean
            /// One of the schema's `enum` (or `const`) values, shown as text in this order.
            case choice([String])
            /// Anything else (lists, objects, several types), typed as JSON text.
            case json
        }

        /// The property name, which is also the input's `name`.
        public let name: String
        /// The schema's `title`, else the name with underscores as spaces.
        public let label: String
        /// The schema's `description`; one written beside a `$ref` wins over the referenced node's.
        public let description: String?
        public let kind: Kind
        /// Whether the schema's `required` lists it (the form marks it; the validator enforces it).
        public let required: Bool
        /// The schema `default` as the input's initial text: numbers as a person writes them, a boolean
        /// as `true`/`false` (render the checkbox checked for `true`), JSON fields as JSON text.
        public let defaultText: String?
        /// The inclusive `minimum`, for a number input's `min` (exclusive bounds are only hints, since
        /// HTML has no exclusive bound); write it with `JSONValue.format(number:)`.
        public let minimum: Double?
        /// The inclusive `maximum`, for a number input's `max`.
        public let maximum: Double?
        /// A number input's `step`: `1` for integers, `any` for numbers, `nil` for other kinds.
        public let step: String?
        /// Short hints of what the validator accepts. When the schema has an `errorMessage`, that is the
        /// only hint: the validator replaces every error of that subschema with it, so it is exactly
        /// what the user would be told.
        public let constraints: [String]
        /// The `enum` values as the schema holds them, in the order of `Kind.choice`'s texts, so a chosen
        /// option goes back as the value it stands for (a number stays a number).
        let choiceValues: [JSONValue]

        /// The HTML element or `<input type>` to render.
        public var inputType: String {
            switch kind {
            case .text: "text"
            case .integer, .number: "number"
            case .boolean: "checkbox"
            case .choice: "select"
            case .json: "textarea"
            }
        }
    }

    /// The form's fields, one per top-level property of `schema`.
    ///
    /// `JSONValue` objects are dictionaries, so the document's property order is lost by the time a
    /// schema is compiled. The order is therefore required fields first, in the order of the schema's
    /// `required` list, then the rest alphabetically: stable, and what a person must fill in comes first.
    /// Properties declared in the root's `$ref` or `allOf` members count too (nf-core puts parameter
    /// groups in `$defs` and lists them under `allOf`); where two declare a name, the first wins.
    public static func fields(of schema: JSONSchema) -> [Field] {
        let nodes = nodesByLocation(schema)
        let rootFacets = Self.facets(of: schema.root, nodes)
        var properties: [String: SchemaNode] = [:]
        var required: [String] = []
        for facet in rootFacets {
            properties.merge(facet.properties) { first, _ in first }
            required += facet.required.filter { !required.contains($0) }
        }
        let requiredNames = required.filter { properties[$0] != nil }
        let optionalNames = properties.keys.filter { !required.contains($0) }.sorted()
        return (requiredNames + optionalNames).map { name in
            field(name, properties[name]!, required: required.contains(name), nodes)
        }
    }

    /// The parameters a submitted form stands for, as the request's `parameters` object.
    ///
    /// `fields` must be the fields the page rendered: an unchecked checkbox sends nothing, so a boolean
    /// field missing from the form is read as `false`. It is always sent (even when the default is
    /// `false`), because an unchecked box is the user's answer, and a `true` default must be overridable.
    /// Every other input that is empty (or only spaces) is left out: an optional one then takes its
    /// schema default, a required one is reported as missing by the validator at its pointer. Text that
    /// does not convert to the field's kind is sent as the string typed, for the validator to refuse.
    /// Names that are not fields are ignored (the caller reads `_csrf`, `description` and the resources
    /// itself); of repeated names the first value counts.
    public static func parameters(from form: [(name: String, value: String)], fields: [Field]) -> JSONValue {
        var members: [String: JSONValue] = [:]
        for field in fields {
            let values = form.filter { $0.name == field.name }.map(\.value)
            if field.kind == .boolean {
                members[field.name] = .bool(values.contains { ["on", "true"].contains($0.lowercased()) })
                continue
            }
            guard let text = values.first, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { continue }
            members[field.name] = value(of: text, for: field)
        }
        return .object(members)
    }

    /// The validator's errors sorted by the field they are about, for showing beside its input.
    ///
    /// An error at `prefix + "/" + name` or below it belongs to field `name`; one below the field keeps
    /// the rest of its pointer (`/0/condition: must be …`) so the user sees which element is wrong.
    /// Everything else goes to `other`: an error at `prefix` itself (cross-field rules) as its message
    /// alone, any other (`/resources/cpus`) as `pointer: message`. Each list keeps the errors' order.
    public static func errorsByField(_ errors: [(pointer: String, message: String)], fields: [Field],
                                     prefix: String) -> (byField: [String: [String]], other: [String]) {
        let names = Set(fields.map(\.name))
        var byField: [String: [String]] = [:]
        var other: [String] = []
        for error in errors {
            guard let base = JSONPointer(parsing: prefix), let pointer = JSONPointer(parsing: error.pointer),
                  pointer.tokens.starts(with: base.tokens) else {
                other.append("\(error.pointer.isEmpty ? "/" : error.pointer): \(error.message)")
                continue
            }
            let below = Array(pointer.tokens.dropFirst(base.tokens.count))
            guard let name = below.first, names.contains(name) else {
                other.append(below.isEmpty ? error.message : "\(error.pointer): \(error.message)")
                continue
            }
            let rest = JSONPointer(tokens: Array(below.dropFirst()))
            byField[name, default: []].append(rest == .root ? error.message : "\(rest): \(error.message)")
        }
        return (byField, other)
    }

    /// `errorsByField` for the errors of a refused request as the service reports them
    /// (`JobService.Refusal.invalid`, `ValidationFailure.errors`).
    public static func errorsByField(_ errors: [ValidationError], fields: [Field],
                                     prefix: String) -> (byField: [String: [String]], other: [String]) {
        errorsByField(errors.map { (pointer: $0.pointer.description, message: $0.message) }, fields: fields, prefix: prefix)
    }

    // MARK: reading the schema

    /// Every node of the schema by location, for following `$ref`s: `JSONSchema.resolve` is internal to
    /// HPCBridge, and `allNodes` holds the same table.
    private static func nodesByLocation(_ schema: JSONSchema) -> [JSONPointer: SchemaNode] {
        Dictionary(schema.allNodes.map { ($0.location, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The nodes that describe one value, as the validator sees them: the node, what its `$ref` points
    /// at, and its `allOf` members, each once, the node itself first. Reading a keyword from the first
    /// facet that has it makes siblings of a `$ref` (a `description`) override the referenced node's.
    private static func facets(of node: SchemaNode, _ nodes: [JSONPointer: SchemaNode]) -> [SchemaNode] {
        var result: [SchemaNode] = []
        var seen: Set<JSONPointer> = []
        var pending = [node]
        while !pending.isEmpty {
            let next = pending.removeFirst()
            guard seen.insert(next.location).inserted else { continue }
            result.append(next)
            if let ref = next.ref, let target = nodes[ref] { pending.append(target) }
            pending += next.allOf
        }
        return result
    }

    private static func field(_ name: String, _ node: SchemaNode, required: Bool, _ nodes: [JSONPointer: SchemaNode]) -> Field {
        let facets = Self.facets(of: node, nodes)
        func first<T>(_ keyword: (SchemaNode) -> T?) -> T? { facets.lazy.compactMap(keyword).first }

        let choices = first(\.enumValues) ?? first(\.constValue).map { [$0] }
        let kind = kind(types: first(\.types), choices: choices)
        let isNumeric = kind == .integer || kind == .number
        return Field(
            name: name,
            label: first(\.title) ?? name.replacingOccurrences(of: "_", with: " "),
            description: first(\.description),
            kind: kind,
            required: required,
            defaultText: first(\.defaultValue).map { text(of: $0, for: kind) },
            minimum: isNumeric ? first(\.minimum) : nil,
            maximum: isNumeric ? first(\.maximum) : nil,
            step: kind == .integer ? "1" : kind == .number ? "any" : nil,
            constraints: first(\.errorMessage).map { [$0] } ?? hints(facets, kind: kind, nodes),
            choiceValues: kind == .json ? [] : choices ?? [])
    }

    /// A choice for an `enum` of strings and numbers; otherwise the one type the schema names (`null`
    /// aside: an empty input already means "not given"); JSON for everything else.
    private static func kind(types: Set<String>?, choices: [JSONValue]?) -> Field.Kind {
        if let choices, !choices.isEmpty, choices.allSatisfy({ $0.stringValue != nil || $0.numberValue != nil }) {
            return .choice(choices.map { text(of: $0, for: .text) })
        }
        switch (types ?? []).subtracting(["null"]) {
        case ["string"]: return .text
        case ["integer"]: return .integer
        case ["number"], ["integer", "number"]: return .number
        case ["boolean"]: return .boolean
        default: return .json
        }
    }

    /// A schema value as an input's text.
    private static func text(of value: JSONValue, for kind: Field.Kind) -> String {
        switch (value, kind) {
        case (.array, .json), (.object, .json): return value.prettyJSON
        case (_, .json): return value.jsonText
        case (.string(let s), _): return s
        case (.number(let n), _): return JSONValue.format(number: n)
        case (.bool(let b), _): return b ? "true" : "false"
        default: return value.jsonText
        }
    }

    /// Generated hints, when the schema has no `errorMessage`: bounds, lengths, formats, the pattern.
    private static func hints(_ facets: [SchemaNode], kind: Field.Kind, _ nodes: [JSONPointer: SchemaNode]) -> [String] {
        func first<T>(_ keyword: (SchemaNode) -> T?) -> T? { facets.lazy.compactMap(keyword).first }
        let show = JSONValue.format(number:)
        var hints: [String] = []
        if kind == .json {
            switch first(\.types) ?? [] {
            case ["array"]: hints.append("JSON: a list")
            case ["object"]: hints.append("JSON: an object")
            default: hints.append("JSON")
            }
        }
        if let n = first(\.minimum) { hints.append("at least \(show(n))") }
        if let n = first(\.exclusiveMinimum) { hints.append("more than \(show(n))") }
        if let n = first(\.maximum) { hints.append("at most \(show(n))") }
        if let n = first(\.exclusiveMaximum) { hints.append("less than \(show(n))") }
        if let n = first(\.multipleOf) { hints.append("a multiple of \(show(n))") }
        if let range = countRange(first(\.minLength), first(\.maxLength), "character") { hints.append(range) }
        if let range = countRange(first(\.minItems), first(\.maxItems), "item") { hints.append(range) }
        if facets.contains(where: \.uniqueItems) { hints.append("no item twice") }
        if let format = formatHint(facets, nodes) { hints.append(format) }
        if let pattern = first(\.pattern) { hints.append("pattern \(pattern.source)") }
        if let items = first(\.items), let itemHint = Self.facets(of: items, nodes).lazy.compactMap(\.errorMessage).first {
            hints.append("each item \(itemHint)")
        }
        return hints
    }

    /// `2 to 20 items`, `at least 6 characters`, `at most 1 item`.
    private static func countRange(_ low: Int?, _ high: Int?, _ unit: String) -> String? {
        func counted(_ n: Int) -> String { "\(n) \(unit)\(n == 1 ? "" : "s")" }
        switch (low, high) {
        case (let low?, let high?) where low == high: return "exactly \(counted(low))"
        case (let low?, let high?): return "\(low) to \(counted(high))"
        case (let low?, nil): return "at least \(counted(low))"
        case (nil, let high?): return "at most \(counted(high))"
        case (nil, nil): return nil
        }
    }

    /// The `format` in words, or the alternatives of an `anyOf`/`oneOf` whose every branch is a format
    /// (`an absolute path or an s3:// URI`), as the fastq locations are written.
    private static func formatHint(_ facets: [SchemaNode], _ nodes: [JSONPointer: SchemaNode]) -> String? {
        if let own = facets.first(where: { $0.format != nil }) { return describe(own) }
        for facet in facets {
            for branches in [facet.anyOf, facet.oneOf] where !branches.isEmpty {
                let described = branches.map { branch in Self.facets(of: branch, nodes).first { $0.format != nil }.flatMap(describe) }
                if described.allSatisfy({ $0 != nil }) { return described.compactMap { $0 }.joined(separator: " or ") }
            }
        }
        return nil
    }

    private static func describe(_ node: SchemaNode) -> String? {
        switch node.format {
        case .absolutePath, .filePath, .directoryPath, .path: return "an absolute path"
        case .uri:
            guard let schemes = node.uriSchemes, !schemes.isEmpty else { return "a URI" }
            let first = schemes[0]
            let article = "aefhilmnorsx".contains(first.lowercased().first ?? "x") ? "an" : "a"
            return "\(article) \(schemes.map { "\($0)://" }.joined(separator: " or ")) URI"
        case .uuid: return "a UUID"
        case .date: return "a date (YYYY-MM-DD)"
        case nil: return nil
        }
    }

    // MARK: reading the form

    /// Typed text as the value of a field; text that does not convert stays the string typed.
    private static func value(of text: String, for field: Field) -> JSONValue {
        switch field.kind {
        case .text:
            return .string(text)
        case .integer, .number:
            // JSON's number syntax, not Swift's (no "nan", "inf" or "+1"). A decimal typed for an integer
            // is sent as a number, so the validator says "must be a whole number" rather than "got text".
            if let number = try? JSONValue.parse(text.trimmingCharacters(in: .whitespacesAndNewlines)),
               let n = number.numberValue, n.isFinite {
                return .number(n)
            }
            return .string(text)
        case .choice(let options):
            return options.firstIndex(of: text).map { field.choiceValues[$0] } ?? .string(text)
        case .json:
            return (try? JSONValue.parse(text)) ?? .string(text)
        case .boolean:
            return .bool(["on", "true"].contains(text.lowercased()))
        }
    }
}
