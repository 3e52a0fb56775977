import Foundation

/// Turns a `JobRequest` into a ready-to-render `ScriptRequest`: the group may run the pipeline, the
/// parameters and resources are valid, the references exist, every input path lies under the group's
/// input roots. Every refusal carries JSON Pointers into the request (`/parameters/quality_threshold`),
/// so the API and the CLI report the same thing.
public struct JobPlanner: Sendable {
    public let site: Site
    /// How input paths are resolved on this host (symbolic links), for the input-root check.
    public let resolver: InputRoots.Resolver

    public init(site: Site, resolver: @escaping InputRoots.Resolver = InputRoots.resolveExistingPrefix) {
        self.site = site
        self.resolver = resolver
    }

    /// Why a request was refused.
    public enum Refusal: Error, Sendable, CustomStringConvertible {
        /// The request or its parameters are invalid: every error, pointers into the request.
        case invalid(ValidationFailure)
        /// The group may not run the pipeline.
        case notAllowed(RenderError)

        public var description: String {
            switch self {
            case .invalid(let failure): return failure.description
            case .notAllowed(let error): return error.description
            }
        }
    }

    /// Checks the request and builds the script request for `scheduler` (default: the group's cluster's).
    public func plan(_ request: JobRequest, jobID: UUID, scheduler: ClusterConfig.Scheduler? = nil) throws(Refusal) -> ScriptRequest {
        let (group, pipeline) = try groupAndPipeline(request.researchGroup, request.pipelineName)
        guard pipeline.isSingleJob else {
            throw .invalid(ValidationFailure([ValidationError(
                pointer: JSONPointer(tokens: ["pipeline_name"]),
                message: "runs \(pipeline.steps.count == 1 ? "one step" : "\(pipeline.steps.count) steps") over a sample sheet, which one job cannot hold; submit it as a run (POST /v1/runs) with its samples")]))
        }
        let (parameters, parameterErrors) = validate(request.parameters, of: pipeline, for: group)
        var errors = parameterErrors
        var resources = pipeline.resources.defaults
        switch pipeline.resources.resolve(overrides: request.resources) {
        case .success(let resolved): resources = resolved
        case .failure(let failure): errors += Self.prefixed(failure.errors, ["resources"])
        }
        guard errors.isEmpty else { throw .invalid(ValidationFailure(errors.sorted())) }
        return ScriptRequest(jobID: jobID, pipeline: pipeline, parameters: parameters, group: group,
                             description: request.description, resources: resources, scheduler: scheduler ?? self.scheduler(of: group))
    }

    /// The group and the pipeline a request names, when the group exists, the pipeline exists and the
    /// group may run it.
    func groupAndPipeline(_ groupName: String, _ pipelineName: String) throws(Refusal) -> (ResearchGroup, Pipeline) {
        guard let group = site.config.groups[groupName] else {
            throw .invalid(ValidationFailure([ValidationError(
                pointer: JSONPointer(tokens: ["research_group"]),
                message: "is not a research group of this site\(EditDistance.hint(for: groupName, among: site.config.groups.keys.sorted()))")]))
        }
        guard let pipeline = site.catalog.pipelines[pipelineName] else {
            throw .invalid(ValidationFailure([ValidationError(
                pointer: JSONPointer(tokens: ["pipeline_name"]),
                message: "is not a pipeline of this site\(EditDistance.hint(for: pipelineName, among: site.catalog.pipelines.keys.sorted())); see GET /v1/pipelines")]))
        }
        guard group.allowedPipelines.contains(pipeline.name) else {
            throw .notAllowed(.pipelineNotAllowed(pipeline: pipeline.name, group: group.name))
        }
        return (group, pipeline)
    }

    /// The parameters with defaults applied, and every error (schema, input roots) at its pointer under
    /// `/parameters`.
    func validate(_ parameters: JSONValue, of pipeline: Pipeline, for group: ResearchGroup) -> (JSONValue, [ValidationError]) {
        let validation = pipeline.validate(parameters: parameters)
        let errors = validation.errors + inputRootErrors(validation.value, paths: validation.paths, group: group)
        return (validation.value, Self.prefixed(errors, ["parameters"]))
    }

    /// Every path a path format accepted must lie under one of the group's input roots.
    func inputRootErrors(_ value: JSONValue, paths: [JSONPointer], group: ResearchGroup) -> [ValidationError] {
        guard let roots = group.inputRoots else { return [] }
        return paths.compactMap { pointer in
            guard let path = value.value(at: pointer)?.stringValue, let problem = roots.problem(with: path, resolving: resolver) else { return nil }
            return ValidationError(pointer: pointer, message: problem)
        }
    }

    /// The scheduler of the group's cluster.
    func scheduler(of group: ResearchGroup) -> ClusterConfig.Scheduler {
        site.config.clusters[group.cluster]?.scheduler ?? .slurm
    }

    /// Errors moved under a member of the request (`/parameters/...`).
    static func prefixed(_ errors: [ValidationError], _ tokens: [String]) -> [ValidationError] {
        errors.map { ValidationError(pointer: JSONPointer(tokens: tokens + $0.pointer.tokens), message: $0.message) }
    }
}
