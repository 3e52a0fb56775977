import Foundation
import HPCBridge
import HPCBridgeAPI
import Logging
import Synchronization
import Yams

/// The contract served at `/openapi.yaml`: `openapi.yaml` (the document the code is generated from)
/// with each pipeline of the site written in, so a client can generate typed requests from it.
///
/// `JobRequest` and `RunRequest` become a `oneOf` of one schema per pipeline (discriminated by
/// `pipeline_name`), each with the groups that may run it, the pipeline's parameter schema as component
/// `Parameters_<pipeline>`, its sample-sheet row as `SampleSheetRow_<pipeline>` and the resource bounds of
/// each step as `Resources_<pipeline>_<step>`. The document is built when a site is loaded (at start and
/// on every reload) and kept, so serving it costs a lock, not a build.
final class ServedContract: Sendable {
    private let text: Mutex<String>
    private let base: String
    private let logger: Logger

    /// Builds the contract for the holder's site now, and again whenever a reload swaps the site.
    init(holder: SiteHolder, base: String = OpenAPIDocument.text, logger: Logger) {
        text = Mutex(base)
        self.base = base
        self.logger = logger
        holder.observe { [weak self] site in self?.rebuild(for: site) }
    }

    private func rebuild(for site: Site) {
        do {
            let document = try Self.document(base: base, site: site)
            text.withLock { $0 = document }
        } catch {
            // The base contract still describes every operation; only the per-pipeline detail is missing.
            logger.error("the served contract keeps the generic request schemas: the site's pipelines could not be written into it: \(error)")
            text.withLock { $0 = base }
        }
    }

    /// The contract for the current site.
    var current: String { text.withLock { $0 } }

    struct MalformedBase: Error, CustomStringConvertible {
        var description: String { "openapi.yaml has no components.schemas mapping to extend" }
    }

    /// `base` with the site's pipelines written into its components.
    static func document(base: String, site: Site) throws -> String {
        guard var root = try Yams.compose(yaml: base), var components = root["components"], var schemas = components["schemas"],
              case .mapping = schemas else { throw MalformedBase() }
        let added = schemasForPipelines(of: site, base: schemas)
        for (name, schema) in added.components { schemas[name] = node(schema) }
        if let job = added.jobRequest { schemas["JobRequest"] = node(job) }
        if let run = added.runRequest { schemas["RunRequest"] = node(run) }
        components["schemas"] = schemas
        root["components"] = components
        return try Yams.serialize(node: root, width: -1, allowUnicode: true)
    }

    /// The new component schemas (sorted by name) and the two request schemas that replace the generic ones.
    static func schemasForPipelines(of site: Site, base: Node) -> (components: [(String, JSONValue)], jobRequest: JSONValue?, runRequest: JSONValue?) {
        var components: [(String, JSONValue)] = []
        var jobs: [(String, String)] = [], runs: [(String, String)] = []
        let description = base["JobRequest"]?["properties"]?["description"].map(Self.value) ?? ["type": "string", "maxLength": 2000]
        for pipeline in site.catalog.sorted {
            let groups = site.config.groups.values.filter { $0.allowedPipelines.contains(pipeline.name) }.sorted { $0.name < $1.name }
            guard !groups.isEmpty else { continue }
            let name = componentName(pipeline.name)
            // Paths must lie under an input root of the group that sends them; the contract states the
            // roots of every group that may run the pipeline (a group without roots lifts the limit).
            let roots: [String]? = groups.contains { $0.inputRoots == nil } ? nil : groups.flatMap { $0.inputRoots?.paths ?? [] }
            components.append(("Parameters_\(name)", PipelineContractSchemas.schema(pipeline.parameters.document, component: "Parameters_\(name)", inputRoots: roots)))
            if let sheet = pipeline.sampleSheet {
                components.append(("SampleSheetRow_\(name)", PipelineContractSchemas.schema(sheet.document, component: "SampleSheetRow_\(name)", inputRoots: roots)))
            }
            var stepResources: [String: JSONValue] = [:]
            for step in pipeline.steps {
                let component = "Resources_\(name)_\(componentName(step.name))"
                components.append((component, PipelineContractSchemas.resources(step.resources)))
                stepResources[step.name] = .object(["$ref": .string("#/components/schemas/\(component)")])
            }
            var common: [String: JSONValue] = [
                "pipeline_name": ["type": "string", "enum": [.string(pipeline.name)]],
                "research_group": ["type": "string", "enum": .array(groups.map { .string($0.name) })],
                "description": ["anyOf": [description, ["type": "null"]]],
                "parameters": ["$ref": .string("#/components/schemas/Parameters_\(name)")],
            ]
            let summary = pipeline.title ?? pipeline.name
            if pipeline.isSingleJob {
                var properties = common
                // null is read as leaving the overrides out, as for every optional member.
                properties["resources"] = ["anyOf": [stepResources[pipeline.steps[0].name] ?? true, ["type": "null"]]]
                components.append(("JobRequest_\(name)", [
                    "type": "object", "additionalProperties": false, "title": .string(summary),
                    "required": ["pipeline_name", "research_group", "parameters"], "properties": .object(properties),
                ]))
                jobs.append((pipeline.name, "JobRequest_\(name)"))
            }
            var required: [JSONValue] = ["pipeline_name", "research_group", "parameters"]
            if pipeline.sampleSheet != nil {
                // The rows as a list: CSV/TSV text (which the service reads too) has a grammar no schema states.
                common["samples"] = [
                    "type": "array", "minItems": 1, "maxItems": .number(Double(SampleSheet.maximumRows)),
                    "description": "One row per sample, each sample_id once. The service also reads the sheet as CSV or TSV text with a header line naming the fields.",
                    "items": ["$ref": .string("#/components/schemas/SampleSheetRow_\(name)")],
                ]
                required.append("samples")
            }
            common["resources"] = ["anyOf": [["type": "object", "additionalProperties": false, "description": "Resource overrides by step name.",
                                              "properties": .object(stepResources)], ["type": "null"]]]
            common["parallel_limit"] = ["anyOf": [["type": "integer", "minimum": 1, "maximum": .number(Double(RunRequest.maximumParallelLimit))], ["type": "null"]]]
            common["tags"] = ["anyOf": [["$ref": "#/components/schemas/RunTags"], ["type": "null"]]]
            components.append(("RunRequest_\(name)", [
                "type": "object", "additionalProperties": false, "title": .string(summary),
                "required": .array(required), "properties": .object(common),
            ]))
            runs.append((pipeline.name, "RunRequest_\(name)"))
        }
        func choice(_ options: [(String, String)], _ what: String) -> JSONValue? {
            guard !options.isEmpty else { return nil }
            return [
                "description": .string("\(what), one schema per pipeline of this site (the service writes them from the catalogs when it loads them)."),
                "oneOf": .array(options.map { ["$ref": .string("#/components/schemas/\($0.1)")] }),
                "discriminator": ["propertyName": "pipeline_name",
                                  "mapping": .object(Dictionary(uniqueKeysWithValues: options.map { ($0.0, .string("#/components/schemas/\($0.1)")) }))],
            ]
        }
        return (components, choice(jobs, "A job request"), choice(runs, "A run request"))
    }

    /// A pipeline or step name as a component name (letters, digits, `.`, `-` and `_` only).
    static func componentName(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
    }

    /// A JSON value as YAML. Strings that would read back as another type (`"123"`, `"true"`) are quoted.
    static func node(_ value: JSONValue) -> Node {
        switch value {
        case .object(let members):
            return .mapping(Node.Mapping(members.keys.sorted().map { (scalar($0), node(members[$0]!)) }))
        case .array(let items):
            return .sequence(Node.Sequence(items.map(node)))
        case .string(let text):
            return scalar(text)
        case .number(let number):
            return Node(JSONValue.format(number: number), .implicit, .plain)
        case .bool(let flag):
            return Node(flag ? "true" : "false", .implicit, .plain)
        case .null:
            return Node("null", .implicit, .plain)
        }
    }

    private static func scalar(_ text: String) -> Node {
        let plain = text.range(of: "^[A-Za-z_][A-Za-z0-9_.-]*$", options: .regularExpression) != nil
            && !["true", "false", "null", "yes", "no", "on", "off", "y", "n"].contains(text.lowercased())
        return Node(text, .implicit, plain ? .plain : .doubleQuoted)
    }

    /// A YAML node of the base contract as a JSON value (scalars by the YAML 1.2 core schema).
    static func value(_ node: Node) -> JSONValue {
        switch node {
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, child) in mapping { members[key.string ?? ""] = value(child) }
            return .object(members)
        case .sequence(let sequence):
            return .array(sequence.map(value))
        case .scalar(let scalar):
            if scalar.style == .plain {
                if let n = Int(scalar.string) { return .number(Double(n)) }
                if ["true", "false"].contains(scalar.string) { return .bool(scalar.string == "true") }
                if scalar.string == "null" { return .null }
            }
            return .string(scalar.string)
        case .alias:
            return .null
        }
    }
}
