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
        let config = site.config
        guard let group = config.groups[request.researchGroup] else {
            throw .invalid(ValidationFailure([ValidationError(
                pointer: JSONPointer(tokens: ["research_group"]),
                message: "is not a research group of this site\(EditDistance.hint(for: request.researchGroup, among: config.groups.keys.sorted()))")]))
        }
        guard let pipeline = site.catalog.pipelines[request.pipelineName] else {
            throw .invalid(ValidationFailure([ValidationError(
                pointer: JSONPointer(tokens: ["pipeline_name"]),
                message: "is not a pipeline of this site\(EditDistance.hint(for: request.pipelineName, among: site.catalog.pipelines.keys.sorted())); see GET /v1/pipelines")]))
        }
        guard pipeline.isSingleJob else {
            throw .invalid(ValidationFailure([ValidationError(
                pointer: JSONPointer(tokens: ["pipeline_name"]),
                message: "runs \(pipeline.steps.count == 1 ? "one step" : "\(pipeline.steps.count) steps") over a sample sheet, which one job cannot hold; submit it as a run (POST /v1/runs) with its samples")]))
        }
        guard group.allowedPipelines.contains(pipeline.name) else {
            throw .notAllowed(.pipelineNotAllowed(pipeline: pipeline.name, group: group.name))
        }
        var errors: [ValidationError] = []
        let validation = pipeline.validate(parameters: request.parameters)
        var parameterErrors = validation.errors
        if let roots = group.inputRoots {
            for pointer in validation.paths {
                guard let path = validation.value.value(at: pointer)?.stringValue,
                    let problem = roots.problem(with: path, resolving: resolver) else { continue }
                parameterErrors.append(ValidationError(pointer: pointer, message: problem))
            }
        }
        errors += parameterErrors.map { ValidationError(pointer: JSONPointer(tokens: ["parameters"] + $0.pointer.tokens), message: $0.message) }
        var resources = pipeline.resources.defaults
        switch pipeline.resources.resolve(overrides: request.resources) {
        case .success(let resolved): resources = resolved
        case .failure(let failure):
            errors += failure.errors.map { ValidationError(pointer: JSONPointer(tokens: ["resources"] + $0.pointer.tokens), message: $0.message) }
        }
        guard errors.isEmpty else { throw .invalid(ValidationFailure(errors.sorted())) }
        let schedulerKind = scheduler ?? config.clusters[group.cluster]?.scheduler ?? .slurm
        return ScriptRequest(jobID: jobID, pipeline: pipeline, parameters: validation.value, group: group,
                             description: request.description, resources: resources, scheduler: schedulerKind)
    }
}
