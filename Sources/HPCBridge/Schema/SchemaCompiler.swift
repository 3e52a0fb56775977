/// Turns a schema document into `SchemaNode`s, checking every keyword's spelling and value.
///
/// Unknown keywords are errors, not ignored as the JSON Schema spec would have it: in a catalog, a
/// misspelt `maximun` silently removes a bound from every request, so a typo must stop the load (with a
/// "did you mean" hint). Annotation keywords from nf-core schemas are accepted and kept.
struct SchemaCompiler {
    private(set) var issues: [SchemaIssue] = []
    private(set) var nodes: [JSONPointer: SchemaNode] = [:]
    private var references: [(at: JSONPointer, target: JSONPointer)] = []

    /// Keywords that change what validates.
    static let assertionKeywords: Set<String> = [
        "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "pattern", "format", "properties", "patternProperties", "additionalProperties",
        "propertyNames", "required", "dependentRequired", "dependentSchemas", "minProperties", "maxProperties",
        "prefixItems", "items", "minItems", "maxItems", "uniqueItems", "allOf", "anyOf", "oneOf", "not", "if", "then",
        "else", "$ref", "$defs", "definitions",
        "x-allow-control-characters", "x-uri-schemes", "x-reference", "errorMessage",
    ]
    /// Keywords that only describe (JSON Schema annotations and nf-core's UI hints).
    static let annotationKeywords: Set<String> = [
        "$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly",
        "writeOnly", "help_text", "fa_icon", "hidden", "mimetype",
    ]
    static let allKeywords = assertionKeywords.union(annotationKeywords)
    static let typeNames: Set<String> = ["null", "boolean", "object", "array", "number", "integer", "string"]

    mutating func compile(_ value: JSONValue, at location: JSONPointer) -> SchemaNode {
        let node: SchemaNode
        switch value {
        case .bool(let b):
            node = SchemaNode(location: location, booleanValue: b, raw: value)
        case .object(let k):
            node = compileObject(k, at: location, raw: value)
        default:
            issue(location, "a schema must be an object (or true/false), got \(value.kindForHumans)")
            node = SchemaNode(location: location, booleanValue: true, raw: value)
        }
        nodes[location] = node
        return node
    }

    private mutating func compileObject(_ k: [String: JSONValue], at here: JSONPointer, raw: JSONValue) -> SchemaNode {
        for key in k.keys.sorted() where !Self.allKeywords.contains(key) {
            issue(here.appending(key),
                  "unknown keyword \"\(key)\"\(EditDistance.hint(for: key, among: Self.allKeywords.sorted())); hpcbridge rejects unknown keywords so that a typo cannot loosen validation")
        }
        for container in ["$defs", "definitions"] {
            guard let defs = k[container] else { continue }
            guard case .object(let members) = defs else { issue(here.appending(container), "must be an object of schemas"); continue }
            for name in members.keys.sorted() { _ = compile(members[name]!, at: here.appending(container).appending(name)) }
        }
        if case .bool = k["exclusiveMinimum"] ?? .null {
            issue(here.appending("exclusiveMinimum"), "in draft 2020-12 exclusiveMinimum is a number (the bound itself), not true/false as in draft-04; write exclusiveMinimum: <bound> and drop minimum")
        }
        if case .bool = k["exclusiveMaximum"] ?? .null {
            issue(here.appending("exclusiveMaximum"), "in draft 2020-12 exclusiveMaximum is a number (the bound itself), not true/false as in draft-04; write exclusiveMaximum: <bound> and drop maximum")
        }

        let types = typeSet(k["type"], at: here.appending("type"))
        let formatName = string(k["format"], at: here.appending("format"))
        var format: StringFormat?
        if let formatName {
            format = StringFormat(rawValue: formatName)
            if format == nil {
                issue(here.appending("format"), "unknown format \"\(formatName)\"\(EditDistance.hint(for: formatName, among: StringFormat.allCases.map(\.rawValue))); supported: \(StringFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        let uriSchemes = stringArray(k["x-uri-schemes"], at: here.appending("x-uri-schemes"))?.map { $0.lowercased() }
        if uriSchemes != nil, format != .uri {
            issue(here.appending("x-uri-schemes"), "x-uri-schemes only applies together with format: uri")
        }
        let enumValues = array(k["enum"], at: here.appending("enum"))
        if let enumValues, enumValues.isEmpty { issue(here.appending("enum"), "must list at least one value") }
        let minLength = count(k["minLength"], at: here.appending("minLength"))
        let maxLength = count(k["maxLength"], at: here.appending("maxLength"))
        let minItems = count(k["minItems"], at: here.appending("minItems"))
        let maxItems = count(k["maxItems"], at: here.appending("maxItems"))
        let minProperties = count(k["minProperties"], at: here.appending("minProperties"))
        let maxProperties = count(k["maxProperties"], at: here.appending("maxProperties"))
        let minimum = number(k["minimum"], at: here.appending("minimum"))
        let maximum = number(k["maximum"], at: here.appending("maximum"))
        let exclusiveMinimum = number(k["exclusiveMinimum"], at: here.appending("exclusiveMinimum"))
        let exclusiveMaximum = number(k["exclusiveMaximum"], at: here.appending("exclusiveMaximum"))
        let multipleOf = number(k["multipleOf"], at: here.appending("multipleOf"))
        if let multipleOf, multipleOf <= 0 { issue(here.appending("multipleOf"), "must be greater than 0") }
        for (low, high, name) in [(minLength, maxLength, "Length"), (minItems, maxItems, "Items"), (minProperties, maxProperties, "Properties")] {
            if let low, let high, low > high { issue(here.appending("min\(name)"), "min\(name) (\(low)) is larger than max\(name) (\(high)): nothing could ever validate") }
        }
        if let minimum, let maximum, minimum > maximum {
            issue(here.appending("minimum"), "minimum (\(JSONValue.format(number: minimum))) is larger than maximum (\(JSONValue.format(number: maximum))): nothing could ever validate")
        }

        var pattern: ECMARegex?
        if let text = string(k["pattern"], at: here.appending("pattern")) {
            do { pattern = try ECMARegex(text) } catch { issue(here.appending("pattern"), "\(error)") }
        }

        var properties: [String: SchemaNode] = [:]
        if let value = k["properties"] {
            if case .object(let members) = value {
                for name in members.keys.sorted() { properties[name] = compile(members[name]!, at: here.appending("properties").appending(name)) }
            } else { issue(here.appending("properties"), "must be an object mapping parameter names to schemas") }
        }
        var patternProperties: [(ECMARegex, SchemaNode)] = []
        if let value = k["patternProperties"] {
            if case .object(let members) = value {
                for text in members.keys.sorted() {
                    let sub = compile(members[text]!, at: here.appending("patternProperties").appending(text))
                    do { patternProperties.append((try ECMARegex(text), sub)) } catch { issue(here.appending("patternProperties").appending(text), "\(error)") }
                }
            } else { issue(here.appending("patternProperties"), "must be an object mapping patterns to schemas") }
        }
        let required = stringArray(k["required"], at: here.appending("required")) ?? []
        if Set(required).count != required.count { issue(here.appending("required"), "lists a name twice") }
        if let known = k["properties"]?.objectValue, k["additionalProperties"] == .bool(false) {
            for name in required where known[name] == nil {
                issue(here.appending("required"), "requires \"\(name)\", which is not among the properties and additionalProperties is false\(EditDistance.hint(for: name, among: known.keys.sorted()))")
            }
        }
        var dependentRequired: [String: [String]] = [:]
        if let value = k["dependentRequired"] {
            if case .object(let members) = value {
                for (name, list) in members { dependentRequired[name] = stringArray(list, at: here.appending("dependentRequired").appending(name)) ?? [] }
            } else { issue(here.appending("dependentRequired"), "must be an object mapping a name to the names it requires") }
        }

        func sub(_ key: String) -> SchemaNode? { k[key].map { compile($0, at: here.appending(key)) } }
        func list(_ key: String) -> [SchemaNode] {
            guard let value = k[key] else { return [] }
            guard case .array(let items) = value, !items.isEmpty else {
                issue(here.appending(key), "must be a non-empty list of schemas")
                return []
            }
            return items.enumerated().map { compile($0.element, at: here.appending(key).appending($0.offset)) }
        }
        if case .array = k["items"] ?? .null {
            issue(here.appending("items"), "in draft 2020-12 items is one schema for the elements after prefixItems; a list of schemas (the tuple form of earlier drafts) is written prefixItems")
        }
        var dependentSchemas: [String: SchemaNode] = [:]
        if let value = k["dependentSchemas"] {
            if case .object(let members) = value {
                for name in members.keys.sorted() { dependentSchemas[name] = compile(members[name]!, at: here.appending("dependentSchemas").appending(name)) }
            } else { issue(here.appending("dependentSchemas"), "must be an object mapping a name to the schema the object must also satisfy when it is given") }
        }
        // JSON Schema ignores then/else without if; here that is an author's mistake (a misspelt or
        // misplaced if) that would silently drop a condition, so it stops the load like an unknown keyword.
        if k["if"] == nil {
            for key in ["then", "else"] where k[key] != nil {
                issue(here.appending(key), "\(key) without if has no effect; put it beside the if it belongs to")
            }
        }

        var ref: JSONPointer?
        if let text = string(k["$ref"], at: here.appending("$ref")) {
            if text.hasPrefix("#"), let pointer = JSONPointer(parsing: String(text.dropFirst()).removingPercentEncoding ?? "") {
                ref = pointer
                references.append((here.appending("$ref"), pointer))
            } else {
                issue(here.appending("$ref"), "only local references such as #/$defs/name are supported, got \(JSONValue.quote(text))")
            }
        }
        let referenceKind = string(k["x-reference"], at: here.appending("x-reference"))
        let allowsControl = bool(k["x-allow-control-characters"], at: here.appending("x-allow-control-characters")) ?? false
        let uniqueItems = bool(k["uniqueItems"], at: here.appending("uniqueItems")) ?? false
        _ = bool(k["deprecated"], at: here.appending("deprecated"))
        _ = bool(k["hidden"], at: here.appending("hidden"))

        return SchemaNode(
            location: here, types: types, enumValues: enumValues, constValue: k["const"],
            minimum: minimum, maximum: maximum, exclusiveMinimum: exclusiveMinimum, exclusiveMaximum: exclusiveMaximum,
            multipleOf: multipleOf, minLength: minLength, maxLength: maxLength, pattern: pattern, format: format,
            uriSchemes: uriSchemes, allowsControlCharacters: allowsControl, properties: properties,
            patternProperties: patternProperties, additionalProperties: sub("additionalProperties"),
            propertyNames: sub("propertyNames"), required: required, dependentRequired: dependentRequired,
            dependentSchemas: dependentSchemas, minProperties: minProperties, maxProperties: maxProperties,
            prefixItems: list("prefixItems"), items: sub("items"), minItems: minItems,
            maxItems: maxItems, uniqueItems: uniqueItems, allOf: list("allOf"), anyOf: list("anyOf"),
            oneOf: list("oneOf"), not: sub("not"), ifSchema: sub("if"), thenSchema: k["if"] == nil ? nil : sub("then"),
            elseSchema: k["if"] == nil ? nil : sub("else"), ref: ref,
            title: string(k["title"], at: here.appending("title")),
            description: string(k["description"], at: here.appending("description")),
            defaultValue: k["default"], errorMessage: string(k["errorMessage"], at: here.appending("errorMessage")),
            referenceKind: referenceKind, raw: .object(k))
    }

    /// Every `$ref` must land on a compiled subschema; checked after the whole document is compiled.
    mutating func checkReferences() {
        for (at, target) in references where nodes[target] == nil {
            let known = nodes.keys.map { "#\($0)" }.sorted()
            issue(at, "points at #\(target), which is not a schema in this document\(EditDistance.hint(for: "#\(target)", among: known))")
        }
    }

    // MARK: keyword value readers: each records an issue and returns nil when the value has the wrong type.

    private mutating func issue(_ location: JSONPointer, _ message: String) {
        issues.append(SchemaIssue(location: location, message: message))
    }

    private mutating func string(_ value: JSONValue?, at location: JSONPointer) -> String? {
        guard let value else { return nil }
        guard case .string(let s) = value else { issue(location, "must be text, got \(value.kindForHumans)"); return nil }
        return s
    }

    private mutating func bool(_ value: JSONValue?, at location: JSONPointer) -> Bool? {
        guard let value else { return nil }
        guard case .bool(let b) = value else { issue(location, "must be true or false, got \(value.kindForHumans)"); return nil }
        return b
    }

    private mutating func number(_ value: JSONValue?, at location: JSONPointer) -> Double? {
        guard let value else { return nil }
        guard case .number(let n) = value, n.isFinite else { issue(location, "must be a number, got \(value.kindForHumans)"); return nil }
        return n
    }

    private mutating func count(_ value: JSONValue?, at location: JSONPointer) -> Int? {
        guard let value else { return nil }
        guard case .number(let n) = value, n.isIntegral, n >= 0, n < Double(Int32.max) else {
            issue(location, "must be a whole number of at least 0, got \(value.jsonText)")
            return nil
        }
        return Int(n)
    }

    private mutating func array(_ value: JSONValue?, at location: JSONPointer) -> [JSONValue]? {
        guard let value else { return nil }
        guard case .array(let items) = value else { issue(location, "must be a list, got \(value.kindForHumans)"); return nil }
        return items
    }

    private mutating func stringArray(_ value: JSONValue?, at location: JSONPointer) -> [String]? {
        guard let items = array(value, at: location) else { return nil }
        var strings: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else { issue(location.appending(i), "must be text, got \(item.kindForHumans)"); continue }
            strings.append(s)
        }
        return strings
    }

    private mutating func typeSet(_ value: JSONValue?, at location: JSONPointer) -> Set<String>? {
        guard let value else { return nil }
        let names: [String]
        switch value {
        case .string(let s): names = [s]
        case .array: names = stringArray(value, at: location) ?? []
        default: issue(location, "must be a type name or a list of them"); return nil
        }
        for name in names where !Self.typeNames.contains(name) {
            issue(location, "unknown type \"\(name)\"\(EditDistance.hint(for: name, among: Self.typeNames.sorted())); JSON Schema types are \(Self.typeNames.sorted().joined(separator: ", "))")
        }
        return Set(names)
    }
}
