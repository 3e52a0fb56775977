import Foundation
import HPCBridge

/// A GA4GH WES run request as received, from form fields (multipart or URL-encoded, where the objects
/// arrive as JSON text) or from a JSON body, and the hpcbridge run it asks for.
///
/// WES describes a workflow by a document and a language; here a workflow is a pipeline of the site's
/// catalog, named by `workflow_url`, and the language is the catalog's (`HPCBRIDGE`, version 1). Every
/// problem is reported at once, each at its JSON Pointer in the WES request (`/workflow_params/fastq_r1`),
/// including the ones the planner finds (`pointer(forPlannerPointer:)`), so a WES client reads the same
/// sentences a /v1 client does, at the fields it sent.
struct WESRunRequest: Sendable, Equatable {
    /// The workflow type this service runs: pipelines of its catalog.
    static let workflowType = "HPCBRIDGE"
    /// Versions of the catalog format.
    static let workflowTypeVersions = ["1"]
    /// The engine: hpcbridge itself (it renders and submits; the scheduler runs).
    static let workflowEngine = "hpcbridge"
    /// What `workflow_engine_parameters` may set.
    static let engineParameterNames = ["parallel_limit", "research_group", "resources"]
    /// The member of `workflow_params` that carries the sample sheet of a pipeline that has one.
    static let samplesParameter = "samples"

    var workflowURL: String
    var workflowType: String?
    var workflowTypeVersion: String?
    var workflowParams: JSONValue
    var tags: [String: String]
    var workflowEngine: String?
    var workflowEngineVersion: String?
    var engineParameters: [String: String]

    /// From form fields (multipart/form-data or application/x-www-form-urlencoded): `workflow_params`,
    /// `tags` and `workflow_engine_parameters` are JSON text. `attachments`: how many
    /// `workflow_attachment` parts came (refused: only catalog pipelines run here).
    init(fields: [String: String], attachments: Int) throws(ValidationFailure) {
        var errors: [ValidationError] = []
        func object(_ name: String) -> JSONValue? {
            guard let text = fields[name], !text.isEmpty else { return nil }
            guard let value = try? JSONValue.parse(text) else {
                errors.append(ValidationError(pointer: JSONPointer(tokens: [name]), message: "must be a JSON object; the text sent is not JSON"))
                return nil
            }
            return value
        }
        let params = object("workflow_params"), tags = object("tags"), engineParameters = object("workflow_engine_parameters")
        if attachments > 0 {
            errors.append(ValidationError(pointer: JSONPointer(tokens: ["workflow_attachment"]),
                                          message: "is not accepted: hpcbridge runs the pipelines of its catalog only, named by workflow_url (GET /v1/pipelines lists them)"))
        }
        try self.init(workflowURL: fields["workflow_url"], workflowType: fields["workflow_type"], workflowTypeVersion: fields["workflow_type_version"],
                      workflowParams: params, tags: tags, workflowEngine: fields["workflow_engine"],
                      workflowEngineVersion: fields["workflow_engine_version"], engineParameters: engineParameters, earlier: errors)
    }

    /// From a JSON body (WES's `RunRequest`).
    init(json: JSONValue) throws(ValidationFailure) {
        guard case .object(let members) = json else {
            throw ValidationFailure([ValidationError(pointer: .root, message: "must be a JSON object with workflow_url and workflow_params")])
        }
        var errors: [ValidationError] = []
        func text(_ name: String) -> String? {
            guard let value = members[name], value != .null else { return nil }
            guard case .string(let text) = value else {
                errors.append(ValidationError(pointer: JSONPointer(tokens: [name]), message: "must be text; got \(value.kindForHumans)"))
                return nil
            }
            return text
        }
        let url = text("workflow_url"), type = text("workflow_type"), version = text("workflow_type_version")
        let engine = text("workflow_engine"), engineVersion = text("workflow_engine_version")
        func nonNull(_ name: String) -> JSONValue? { members[name].flatMap { $0 == .null ? nil : $0 } }
        try self.init(workflowURL: url, workflowType: type, workflowTypeVersion: version, workflowParams: nonNull("workflow_params"),
                      tags: nonNull("tags"), workflowEngine: engine, workflowEngineVersion: engineVersion,
                      engineParameters: nonNull("workflow_engine_parameters"), earlier: errors)
    }

    /// Checks the fields every form shares, adding to the errors found while reading them.
    private init(workflowURL: String?, workflowType: String?, workflowTypeVersion: String?, workflowParams: JSONValue?, tags: JSONValue?,
                 workflowEngine: String?, workflowEngineVersion: String?, engineParameters: JSONValue?, earlier: [ValidationError]) throws(ValidationFailure) {
        var errors = earlier
        func pointer(_ tokens: String...) -> JSONPointer { JSONPointer(tokens: tokens) }
        let url = workflowURL?.trimmingCharacters(in: .whitespaces) ?? ""
        if url.isEmpty {
            errors.append(ValidationError(pointer: pointer("workflow_url"), message: "is required: the name of a catalog pipeline, or the URL of /v1/pipelines/{name}"))
        } else if Self.pipelineName(in: url) == nil {
            errors.append(ValidationError(pointer: pointer("workflow_url"),
                                          message: "must name a pipeline of this service's catalog (its name, or the URL of /v1/pipelines/{name}); got \"\(url)\""))
        }
        if let workflowType, workflowType != Self.workflowType {
            errors.append(ValidationError(pointer: pointer("workflow_type"),
                                          message: "must be \(Self.workflowType) (a pipeline of this service's catalog); got \"\(workflowType)\": CWL, WDL and other languages are not run here"))
        }
        if let workflowTypeVersion, !Self.workflowTypeVersions.contains(workflowTypeVersion) {
            errors.append(ValidationError(pointer: pointer("workflow_type_version"),
                                          message: "must be one of \(Self.workflowTypeVersions.joined(separator: ", ")); got \"\(workflowTypeVersion)\""))
        }
        if let workflowEngine, workflowEngine != Self.workflowEngine {
            errors.append(ValidationError(pointer: pointer("workflow_engine"), message: "must be \(Self.workflowEngine); got \"\(workflowEngine)\""))
        }
        if workflowEngineVersion != nil, workflowEngine == nil {
            errors.append(ValidationError(pointer: pointer("workflow_engine_version"), message: "needs workflow_engine (WES: an engine version names an engine's version)"))
        }
        if let workflowParams, workflowParams.objectValue == nil {
            errors.append(ValidationError(pointer: pointer("workflow_params"), message: "must be a JSON object of the pipeline's parameters; got \(workflowParams.kindForHumans)"))
        }
        let (tagValues, tagErrors) = RunTags.read(tags, at: pointer("tags"))
        errors += tagErrors
        let engineValues = Self.textObject(engineParameters, at: "workflow_engine_parameters", errors: &errors)
        for name in engineValues.keys.sorted() where !Self.engineParameterNames.contains(name) {
            errors.append(ValidationError(pointer: pointer("workflow_engine_parameters", name),
                                          message: "is not a parameter of this service\(EditDistance.hint(for: name, among: Self.engineParameterNames)); it takes \(Self.engineParameterNames.joined(separator: ", "))"))
        }
        if let limit = engineValues["parallel_limit"], Int(limit).map({ (1...RunRequest.maximumParallelLimit).contains($0) }) != true {
            errors.append(ValidationError(pointer: pointer("workflow_engine_parameters", "parallel_limit"),
                                          message: "must be a whole number from 1 to \(RunRequest.maximumParallelLimit); got \"\(limit)\""))
        }
        if let resources = engineValues["resources"], (try? JSONValue.parse(resources))?.objectValue == nil {
            errors.append(ValidationError(pointer: pointer("workflow_engine_parameters", "resources"),
                                          message: "must be a JSON object of resources by step name, such as {\"align\": {\"cpus\": 4}}"))
        }
        guard errors.isEmpty else { throw ValidationFailure(errors.sorted()) }
        self.workflowURL = url
        self.workflowType = workflowType
        self.workflowTypeVersion = workflowTypeVersion
        self.workflowParams = workflowParams ?? .object([:])
        self.tags = tagValues
        self.workflowEngine = workflowEngine
        self.workflowEngineVersion = workflowEngineVersion
        self.engineParameters = engineValues
    }

    /// An object of text values (`tags`, `workflow_engine_parameters`), or its errors.
    private static func textObject(_ value: JSONValue?, at name: String, errors: inout [ValidationError]) -> [String: String] {
        guard let value else { return [:] }
        guard case .object(let members) = value else {
            errors.append(ValidationError(pointer: JSONPointer(tokens: [name]), message: "must be a JSON object of text values; got \(value.kindForHumans)"))
            return [:]
        }
        var texts: [String: String] = [:]
        for (key, member) in members {
            if case .string(let text) = member { texts[key] = text } else {
                errors.append(ValidationError(pointer: JSONPointer(tokens: [name, key]), message: "must be text; got \(member.kindForHumans)"))
            }
        }
        return texts
    }

    /// The pipeline a `workflow_url` names: a bare name, or a URL (absolute, or a path) ending in
    /// `/v1/pipelines/{name}`. Nil for anything else.
    static func pipelineName(in url: String) -> String? {
        let isName = { (text: Substring) in
            !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
        }
        if isName(Substring(url)) { return url }
        let path = URLComponents(string: url)?.path ?? url
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard segments.count >= 3, segments[segments.count - 3] == "v1", segments[segments.count - 2] == "pipelines",
              let name = segments.last, isName(name) else { return nil }
        return String(name)
    }

    /// The hpcbridge run this asks for, on behalf of `principal`: the group is the token's (an admin
    /// names it in `workflow_engine_parameters.research_group`); a pipeline over a sample sheet takes the
    /// sheet from `workflow_params.samples`.
    func runRequest(for principal: APITokens.Principal, catalog: PipelineCatalog) throws(ValidationFailure) -> RunRequest {
        let pipelineName = Self.pipelineName(in: workflowURL) ?? workflowURL
        let group: String
        switch principal {
        case .group(let own): group = engineParameters["research_group"] ?? own
        case .admin:
            guard let named = engineParameters["research_group"] else {
                throw ValidationFailure([ValidationError(pointer: JSONPointer(tokens: ["workflow_engine_parameters", "research_group"]),
                                                         message: "is required with an admin token: the research group the run is for")])
            }
            group = named
        }
        var parameters = workflowParams.objectValue ?? [:]
        var samples: JSONValue?
        if catalog.pipelines[pipelineName]?.sampleSheet != nil {
            samples = parameters.removeValue(forKey: Self.samplesParameter)
        }
        var resources = engineParameters["resources"].flatMap { try? JSONValue.parse($0) }
        // A pipeline of one step takes its resources as a job does (`{"cpus": 4}`), not only by step name.
        if let pipeline = catalog.pipelines[pipelineName], pipeline.steps.count == 1, let members = resources?.objectValue,
           !members.isEmpty, members.keys.allSatisfy(ResourcePolicy.overridableKeys.contains) {
            resources = .object([pipeline.steps[0].name: .object(members)])
        }
        return RunRequest(base: JobRequest(pipelineName: pipelineName, parameters: .object(parameters), researchGroup: group),
                          samples: samples, resources: resources, parallelLimit: engineParameters["parallel_limit"].flatMap { Int($0) },
                          tags: tags, received: received)
    }

    /// The request as it is shown back (`RunLog.request`): WES's `RunRequest`, with the objects as objects.
    var received: JSONValue {
        var members: [String: JSONValue] = [
            "workflow_url": .string(workflowURL),
            "workflow_type": .string(workflowType ?? Self.workflowType),
            "workflow_type_version": .string(workflowTypeVersion ?? Self.workflowTypeVersions.last!),
            "workflow_params": workflowParams,
            "tags": .object(tags.mapValues(JSONValue.string)),
            "workflow_engine_parameters": .object(engineParameters.mapValues(JSONValue.string)),
        ]
        if let workflowEngine { members["workflow_engine"] = .string(workflowEngine) }
        if let workflowEngineVersion { members["workflow_engine_version"] = .string(workflowEngineVersion) }
        return .object(members)
    }

    /// Where an error the planner reports (at a /v1 run request's pointer) is in the WES request:
    /// `/parameters/x` is `/workflow_params/x`, `/samples/3` is `/workflow_params/samples/3`, a step's
    /// resources and the parallel limit are engine parameters, the pipeline is `/workflow_url`.
    static func pointer(forPlannerPointer pointer: JSONPointer) -> JSONPointer {
        guard let first = pointer.tokens.first else { return pointer }
        let rest = Array(pointer.tokens.dropFirst())
        switch first {
        case "parameters": return JSONPointer(tokens: ["workflow_params"] + rest)
        case "samples": return JSONPointer(tokens: ["workflow_params", samplesParameter] + rest)
        case "resources", "parallel_limit", "research_group": return JSONPointer(tokens: ["workflow_engine_parameters", first] + rest)
        case "pipeline_name": return JSONPointer(tokens: ["workflow_url"] + rest)
        default: return pointer
        }
    }
}
