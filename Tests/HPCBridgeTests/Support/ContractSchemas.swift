import Foundation
@testable import HPCBridge

/// Schemas of a served contract (`/openapi.yaml`), compiled with the project's own JSON Schema validator,
/// so tests can check documents (requests, event data) against what the contract says.
///
/// The validator knows the catalog dialect, not OpenAPI: OpenAPI's own keywords (`discriminator`) and
/// vendor annotations are left out, and formats it does not check (`date-time`, `int64`) are replaced
/// by nothing; tests check dates themselves.
struct ContractSchemas {
    let components: [String: JSONValue]

    init(contract text: String) throws {
        let document = try YAMLDocument(text: text, path: "openapi.yaml").value
        components = document["components"]?["schemas"]?.objectValue ?? [:]
    }

    /// Component `name` with every component it refers to, as one compiled schema.
    func schema(_ name: String) throws -> JSONSchema {
        let definitions = components.mapValues(Self.plain)
        return try JSONSchema(["$defs": .object(definitions), "$ref": .string("#/$defs/\(name)")])
    }

    static let openAPIOnly: Set<String> = ["discriminator", "x-format", "x-event-data", "xml", "externalDocs", "example", "nullable"]

    /// A schema with `#/components/schemas/` references pointing at `$defs`, and without what the
    /// validator does not know.
    static func plain(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(var members):
            for key in openAPIOnly { members[key] = nil }
            if let format = members["format"]?.stringValue, StringFormat(rawValue: format) == nil { members["format"] = nil }
            if let ref = members["$ref"]?.stringValue, ref.hasPrefix("#/components/schemas/") {
                members["$ref"] = .string("#/$defs/" + ref.dropFirst("#/components/schemas/".count))
            }
            // Property names are data, not keywords: only their schemas are rewritten.
            return .object(members.mapValues(plain))
        case .array(let items):
            return .array(items.map(plain))
        default:
            return value
        }
    }
}
