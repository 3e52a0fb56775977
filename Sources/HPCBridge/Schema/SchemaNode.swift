/// One compiled (sub)schema of a pipeline's parameter schema.
///
/// The catalog dialect is the part of JSON Schema draft 2020-12 that nf-core's `nextflow_schema.json`
/// files use, plus three hpcbridge keywords (`x-allow-control-characters`, `x-uri-schemes`,
/// `x-reference`). A node is immutable once compiled; `$ref`s are kept as pointers and looked up in the
/// owning `JSONSchema`'s table at validation time, so recursive schemas need no special care.
public final class SchemaNode: Sendable {
    /// Where this subschema sits in its schema document (`/properties/sample_id`).
    public let location: JSONPointer
    /// `true` and `false` are schemas too: they accept or reject everything.
    public let booleanValue: Bool?

    public let types: Set<String>?
    public let enumValues: [JSONValue]?
    public let constValue: JSONValue?

    public let minimum: Double?
    public let maximum: Double?
    public let exclusiveMinimum: Double?
    public let exclusiveMaximum: Double?
    public let multipleOf: Double?

    public let minLength: Int?
    public let maxLength: Int?
    public let pattern: ECMARegex?
    public let format: StringFormat?
    /// URI schemes a `format: uri` value may use (`x-uri-schemes`); `nil` allows any scheme.
    public let uriSchemes: [String]?
    /// Whether strings here may hold control characters (`x-allow-control-characters: true`).
    public let allowsControlCharacters: Bool

    public let properties: [String: SchemaNode]
    public let patternProperties: [(ECMARegex, SchemaNode)]
    public let additionalProperties: SchemaNode?
    public let propertyNames: SchemaNode?
    public let required: [String]
    public let dependentRequired: [String: [String]]
    /// Subschemas the whole object must also satisfy when the named member is present.
    public let dependentSchemas: [String: SchemaNode]
    public let minProperties: Int?
    public let maxProperties: Int?

    /// Schemas for the first elements, by position (2020-12's tuple form); `items` covers the rest.
    public let prefixItems: [SchemaNode]
    /// The schema of every element after those `prefixItems` describe.
    public let items: SchemaNode?
    public let minItems: Int?
    public let maxItems: Int?
    public let uniqueItems: Bool

    public let allOf: [SchemaNode]
    public let anyOf: [SchemaNode]
    public let oneOf: [SchemaNode]
    public let not: SchemaNode?
    /// A condition: when the value satisfies `ifSchema` it must satisfy `thenSchema`, otherwise
    /// `elseSchema` (either may be absent). How pipelines make parameters depend on each other.
    public let ifSchema: SchemaNode?
    public let thenSchema: SchemaNode?
    public let elseSchema: SchemaNode?
    /// A local reference (`#/$defs/sample`), resolved through the owning schema's table.
    public let ref: JSONPointer?

    public let title: String?
    public let description: String?
    public let defaultValue: JSONValue?
    /// A catalog author's message shown instead of the generated one when this subschema fails.
    public let errorMessage: String?
    /// The site reference registry kind (`genome`, `transcriptome`) this value names (`x-reference`).
    public let referenceKind: String?
    /// The schema text of this node, served as-is by the API and `GET /v1/pipelines/{name}`.
    public let raw: JSONValue

    init(location: JSONPointer, booleanValue: Bool? = nil, types: Set<String>? = nil, enumValues: [JSONValue]? = nil,
         constValue: JSONValue? = nil, minimum: Double? = nil, maximum: Double? = nil, exclusiveMinimum: Double? = nil,
         exclusiveMaximum: Double? = nil, multipleOf: Double? = nil, minLength: Int? = nil, maxLength: Int? = nil,
         pattern: ECMARegex? = nil, format: StringFormat? = nil, uriSchemes: [String]? = nil,
         allowsControlCharacters: Bool = false, properties: [String: SchemaNode] = [:],
         patternProperties: [(ECMARegex, SchemaNode)] = [], additionalProperties: SchemaNode? = nil,
         propertyNames: SchemaNode? = nil, required: [String] = [], dependentRequired: [String: [String]] = [:],
         dependentSchemas: [String: SchemaNode] = [:], minProperties: Int? = nil, maxProperties: Int? = nil,
         prefixItems: [SchemaNode] = [], items: SchemaNode? = nil, minItems: Int? = nil,
         maxItems: Int? = nil, uniqueItems: Bool = false, allOf: [SchemaNode] = [], anyOf: [SchemaNode] = [],
         oneOf: [SchemaNode] = [], not: SchemaNode? = nil, ifSchema: SchemaNode? = nil, thenSchema: SchemaNode? = nil,
         elseSchema: SchemaNode? = nil, ref: JSONPointer? = nil, title: String? = nil,
         description: String? = nil, defaultValue: JSONValue? = nil, errorMessage: String? = nil,
         referenceKind: String? = nil, raw: JSONValue) {
        self.location = location; self.booleanValue = booleanValue; self.types = types; self.enumValues = enumValues
        self.constValue = constValue; self.minimum = minimum; self.maximum = maximum
        self.exclusiveMinimum = exclusiveMinimum; self.exclusiveMaximum = exclusiveMaximum; self.multipleOf = multipleOf
        self.minLength = minLength; self.maxLength = maxLength; self.pattern = pattern; self.format = format
        self.uriSchemes = uriSchemes; self.allowsControlCharacters = allowsControlCharacters
        self.properties = properties; self.patternProperties = patternProperties
        self.additionalProperties = additionalProperties; self.propertyNames = propertyNames; self.required = required
        self.dependentRequired = dependentRequired; self.dependentSchemas = dependentSchemas
        self.minProperties = minProperties; self.maxProperties = maxProperties
        self.prefixItems = prefixItems; self.items = items; self.minItems = minItems; self.maxItems = maxItems
        self.uniqueItems = uniqueItems
        self.allOf = allOf; self.anyOf = anyOf; self.oneOf = oneOf; self.not = not
        self.ifSchema = ifSchema; self.thenSchema = thenSchema; self.elseSchema = elseSchema; self.ref = ref
        self.title = title; self.description = description; self.defaultValue = defaultValue
        self.errorMessage = errorMessage; self.referenceKind = referenceKind; self.raw = raw
    }

    /// Every direct subschema, for walks over the whole schema (registry checks, defaults checks).
    var children: [SchemaNode] {
        var all = Array(properties.values) + patternProperties.map(\.1) + allOf + anyOf + oneOf + prefixItems
        all += dependentSchemas.keys.sorted().map { dependentSchemas[$0]! }
        for node in [additionalProperties, propertyNames, items, not, ifSchema, thenSchema, elseSchema] { if let node { all.append(node) } }
        return all
    }
}
