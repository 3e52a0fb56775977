import Foundation

/// Turns a `RunRequest` into a ready-to-render `RunScriptRequest`: the group may run the pipeline, the
/// parameters, every sample-sheet row and the resources of every step are valid, and every input path
/// (in parameters and in the sheet) lies under the group's input roots. Refusals carry pointers into the
/// request (`/samples/17/fastq_r1`), exactly as for single jobs.
public struct RunPlanner: Sendable {
    public let jobs: JobPlanner

    public init(site: Site, resolver: @escaping InputRoots.Resolver = InputRoots.resolveExistingPrefix) {
        self.jobs = JobPlanner(site: site, resolver: resolver)
    }

    /// `maximumArrayTasks`: the cluster scheduler's array limit when known (see `SchedulerLimits`).
    public func plan(_ request: RunRequest, runID: UUID, scheduler: ClusterConfig.Scheduler? = nil, maximumArrayTasks: Int? = nil) throws(JobPlanner.Refusal) -> RunScriptRequest {
        let (group, pipeline) = try jobs.groupAndPipeline(request.base.researchGroup, request.base.pipelineName)
        var (parameters, errors) = jobs.validate(request.base.parameters, of: pipeline, for: group)

        var samples: SampleSheet?
        let samplesPointer = JSONPointer(tokens: ["samples"])
        if let rowSchema = pipeline.sampleSheet {
            switch request.samples.map({ SampleSheet.read($0, schema: rowSchema, at: samplesPointer, maximumArrayTasks: maximumArrayTasks) }) {
            case .success(let sheet):
                samples = sheet
                let rows = JSONValue.array(sheet.rows)
                errors += JobPlanner.prefixed(jobs.inputRootErrors(rows, paths: sheet.paths, group: group), ["samples"])
            case .failure(let failure):
                errors += failure.errors
            case nil:
                errors.append(ValidationError(pointer: samplesPointer, message: "is required: \(pipeline.name) runs over a sample sheet (a list of rows, or CSV/TSV text with a header line)"))
            }
        } else if let given = request.samples, given != .null {
            errors.append(ValidationError(pointer: samplesPointer, message: "\(pipeline.name) takes no sample sheet; leave samples out"))
        }

        var resources: [String: ResourceRequest] = [:]
        let overrides = request.resources?.objectValue ?? [:]
        for name in overrides.keys.sorted() where pipeline.step(named: name) == nil {
            errors.append(ValidationError(pointer: JSONPointer(tokens: ["resources", name]),
                                          message: "is not a step of \(pipeline.name)\(EditDistance.hint(for: name, among: pipeline.steps.map(\.name))); steps: \(pipeline.steps.map(\.name).joined(separator: ", "))"))
        }
        for step in pipeline.steps {
            switch step.resources.resolve(overrides: overrides[step.name]) {
            case .success(let resolved): resources[step.name] = resolved
            case .failure(let failure): errors += JobPlanner.prefixed(failure.errors, ["resources", step.name])
            }
        }
        guard errors.isEmpty else { throw .invalid(ValidationFailure(errors.sorted())) }
        return RunScriptRequest(runID: runID, pipeline: pipeline, parameters: parameters, samples: samples, group: group,
                                description: request.base.description, resources: resources,
                                scheduler: scheduler ?? jobs.scheduler(of: group))
    }
}
