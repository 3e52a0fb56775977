import Crypto
import Foundation
import Logging

/// Accepts runs and submits their steps, in the order that makes a crash harmless: the whole run
/// (every step's intent, every task's script) is durable before the first scheduler call; then each
/// step is submitted once its parents are, a scatter step as one job array and a step that needs
/// others with `afterok` on their jobs and the kill-on-invalid-dependency flag, so that a failure
/// cancels what depends on it inside the scheduler, with no engine in between.
///
/// Steps are `job` rows, so everything that keeps single jobs safe applies to them: adoption by the
/// scheduler comment after a crash, a surplus submission cancelled, an outage that only defers.
public struct RunSubmitter: Sendable {
    public let jobs: JobSubmitter
    var store: JobStore { jobs.store }
    var logger: Logger { jobs.logger }

    public init(jobs: JobSubmitter) { self.jobs = jobs }

    /// Validates, renders and stores a run as accepted. With an idempotency key, a retry of the same
    /// request returns the run of the first attempt (`created` is false then).
    public func accept(_ request: RunRequest, idempotencyKey: String? = nil, activeLimit: Int? = nil, limits: SchedulerLimits? = nil,
                       now: Date = Date()) throws -> (run: Run, created: Bool) {
        let site = jobs.site
        let id = UUID()
        let plan = try RunPlanner(site: site).plan(request, runID: id, maximumArrayTasks: limits?.maxArrayTasks)
        let rendered = try site.renderer.render(plan)
        let pipeline = plan.pipeline, group = plan.group
        let rows = plan.samples?.rows ?? []
        let run = Run(id: id, pipelineName: pipeline.name, pipelineVersion: pipeline.version, researchGroup: group.name, cluster: group.cluster,
                      description: plan.description, parametersJSON: plan.parameters.jsonText, samplesJSON: JSONValue.array(rows).jsonText,
                      runDirectory: rendered.runDirectory, parallelLimit: Self.throttle(request.parallelLimit, activeLimit: activeLimit), createdAt: now,
                      tags: request.tags, receivedRequestJSON: request.received?.jsonText)
        var steps: [(step: RunStep, job: Job)] = []
        var tasks: [(task: RunTask, script: String)] = []
        for step in rendered.steps {
            var spec = BatchJobSpec(step.script, group: group)
            if !step.tasks.isEmpty {
                spec.array = try JobArray(indices: [0...(step.tasks.count - 1)], maxRunning: run.parallelLimit.map { min($0, step.tasks.count) })
            }
            spec.killOnInvalidDependency = !step.needs.isEmpty
            let intent = try spec.storedJSON()
            var job = Job(id: step.id, pipelineName: pipeline.name, pipelineVersion: pipeline.version, parametersJSON: plan.parameters.jsonText,
                          researchGroup: group.name, description: plan.description, cluster: group.cluster, createdAt: now,
                          scriptDigest: SHA256.hash(data: Data(step.script.text.utf8)).hexString, intentJSON: intent)
            job.state = .accepted
            let outputs = step.tasks.isEmpty
                ? step.script.outputs.keys.sorted().map { RunOutput(name: $0, path: step.script.outputs[$0]!) }
                : step.tasks.flatMap { task in task.outputs.keys.sorted().map { RunOutput(name: $0, path: task.outputs[$0]!, sampleID: task.sampleID) } }
            steps.append((RunStep(runID: id, name: step.name, jobID: step.id, needs: step.needs,
                                  taskCount: step.tasks.isEmpty ? nil : step.tasks.count, directory: step.directory, outputs: outputs), job))
            tasks += step.tasks.map { (RunTask(runID: id, step: step.name, index: $0.index, sampleID: $0.sampleID), $0.text) }
        }
        // The request's identity for idempotency: what was asked, not when.
        // (Tags only when there are some, so a key used before tags existed still matches its retry.)
        var identity: [String: JSONValue] = [
            "pipeline_name": .string(request.base.pipelineName), "research_group": .string(request.base.researchGroup),
            "parameters": request.base.parameters, "description": request.base.description.map(JSONValue.string) ?? .null,
            "samples": request.samples ?? .null, "resources": request.resources ?? .null,
            "parallel_limit": request.parallelLimit.map { .number(Double($0)) } ?? .null,
        ]
        if !request.tags.isEmpty { identity["tags"] = .object(request.tags.mapValues(JSONValue.string)) }
        let requestHash = SHA256.hash(data: Data(JSONValue.object(identity).jsonText.utf8)).hexString
        switch try store.insert(JobStore.NewRun(run: run, steps: steps, tasks: tasks), idempotencyKey: idempotencyKey, requestHash: requestHash) {
        case .created(let run): return (run, true)
        case .existing(let run): return (run, false)
        }
    }

    /// The `%` throttle of a run's arrays: the request's parallel limit, and never more tasks at once
    /// than the group's quota of active jobs (a run larger than the quota is throttled, not refused).
    static func throttle(_ requested: Int?, activeLimit: Int?) -> Int? {
        switch (requested, activeLimit) {
        case (let r?, let q?): return min(r, q)
        case (let r?, nil): return r
        case (nil, let q?): return q
        case (nil, nil): return nil
        }
    }

    /// Submits every step of the run that can go now: in dependency order, each accepted step whose
    /// parents are submitted (and still known to the controller, per `known`) or completed. A step whose
    /// parent failed is failed without a scheduler call. Returns the steps as they are afterwards.
    @discardableResult
    public func submitReadySteps(of runID: UUID, known: (NativeJobID) -> Bool = { _ in true }, source: String = "submitter",
                                 now: @Sendable () -> Date = Date.init) async throws -> [(step: RunStep, job: Job)] {
        // Store calls on the store's threads, files on the files' (`JobStore.background`): this runs on
        // the cooperative pool, for a request or for the reconciler.
        var steps = try await store.background { try $0.steps(of: runID) }
        let order = Self.dependencyOrder(steps.map(\.step))
        // A parent submitted by this very call is in the controller, whatever an older snapshot says.
        var submittedHere: Set<NativeJobID> = []
        for index in order {
            let (step, job) = steps[index]
            guard job.state == .accepted, job.nativeJobID == nil else { continue }
            let parents = step.needs.compactMap { name in steps.first { $0.step.name == name }.map { (name, $0.job) } }
            switch RunDependencies.decide(parents: parents, known: { submittedHere.contains($0) || known($0) }) {
            case .wait(let reason):
                logger.debug("step waits", metadata: ["run_id": "\(runID.uuidString.lowercased())", "step": "\(step.name)", "reason": "\(reason)"])
            case .blocked(let reason):
                let finished = now()
                let jobID = job.id, stepName = step.name, taskCount = step.taskCount ?? 0
                steps[index].job = try await store.background { store in
                    let failed = try store.update(jobID, source: source, reason: reason, at: finished) {
                        $0.state = .failed
                        $0.failureKind = FailureKind.dependencyNeverSatisfied.label
                        $0.failureReason = reason
                        $0.finishedAt = finished
                    }
                    try store.updateTasks(of: runID, step: stepName, (0..<taskCount).map { index in
                        var task = RunTask(runID: runID, step: stepName, index: index, sampleID: "", state: .failed)
                        task.failureKind = FailureKind.dependencyNeverSatisfied.label
                        task.finishedAt = finished
                        return task
                    })
                    return failed
                }
            case .submit(let afterOK):
                let jobID = job.id
                guard let whole = try await store.background({ try $0.job(jobID) }) else { continue }
                var spec = try JobSubmitter.spec(of: whole)
                spec.afterOK = afterOK
                // The scheduler opens the step's log files there before the script runs: it must exist.
                try await BlockingCallPool.files.run(deadline: .seconds(30)) { [self] in
                    try FileManager.default.createDirectory(atPath: step.directory, withIntermediateDirectories: true)
                    if step.taskCount != nil { try writeTaskScripts(runID: runID, step: step) }
                }
                steps[index].job = try await jobs.submit(whole, spec: spec, source: source, now: now)
                if let native = steps[index].job.nativeJobID {
                    submittedHere.insert(NativeJobID(native))
                    // The tasks wait in the array now; the reconciler follows each from here.
                    let stepName = step.name
                    try await store.background { try $0.markTasksSubmitted(of: runID, step: stepName) }
                } else if steps[index].job.state.isTerminal, let count = step.taskCount {
                    // The scheduler refused the array: its tasks end with it, for the same reason.
                    let refused = steps[index].job, stepName = step.name
                    try await store.background { store in
                        try store.updateTasks(of: runID, step: stepName, (0..<count).map { index in
                            var task = RunTask(runID: runID, step: stepName, index: index, sampleID: "", state: refused.state)
                            task.failureKind = refused.failureKind
                            task.finishedAt = refused.finishedAt
                            return task
                        })
                    }
                }
            }
        }
        return steps
    }

    /// Why a run cannot be resumed.
    public enum ResumeRefusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// Steps are still queued or running: cancel the run first or let it end.
        case notEnded(JobState)
        /// Every step completed.
        case nothingToResume

        public var description: String {
            switch self {
            case .notEnded(let state): return "the run is \(state.rawValue); a run can be resumed once every step has ended (cancel it first, or wait)"
            case .nothingToResume: return "every step of the run completed; there is nothing to resume"
            }
        }
    }

    /// Resumes an ended run: every step that did not complete, and every step that needs one of them,
    /// runs again as a new job (a new id and scheduler tag, so a crash can never adopt the old attempt's
    /// scheduler job); a scatter step runs again only its tasks that did not complete, as an array of
    /// those indices, and keeps its completed tasks and their outputs. The same scripts run again, with
    /// the new attempt's id in place of the old one. Returns the names of the steps that run again; the
    /// caller submits them (`submitReadySteps`).
    public func resume(_ runID: UUID, now: Date = Date()) throws -> [String] {
        let steps = try store.steps(of: runID)
        let state = Run.state(of: steps.map(\.job.state))
        guard state.isTerminal else { throw ResumeRefusal.notEnded(state) }
        var rerun = Set(steps.filter { $0.job.state != .completed }.map(\.step.name))
        guard !rerun.isEmpty else { throw ResumeRefusal.nothingToResume }
        // Everything downstream of a step that runs again runs again too.
        var grew = true
        while grew {
            grew = false
            for (step, _) in steps where !rerun.contains(step.name) && step.needs.contains(where: rerun.contains) {
                rerun.insert(step.name)
                grew = true
            }
        }
        let tasks = try store.tasks(of: runID)
        var attempts: [JobStore.StepAttempt] = []
        for (step, job) in steps where rerun.contains(step.name) {
            guard let whole = try store.job(job.id) else { continue }
            var spec = try JobSubmitter.spec(of: whole)
            let newID = UUID()
            let (old, new) = (job.id.uuidString.lowercased(), newID.uuidString.lowercased())
            spec.script = spec.script.replacingOccurrences(of: old, with: new)
            spec.comment = spec.comment.replacingOccurrences(of: old, with: new)
            spec.afterOK = []
            var indices: [Int] = []
            if let array = spec.array {
                indices = tasks.filter { $0.step == step.name && $0.state != .completed }.map(\.index)
                spec.array = try JobArray(taskIndices: indices, maxRunning: array.maxRunning)
            }
            var next = Job(id: newID, pipelineName: whole.pipelineName, pipelineVersion: whole.pipelineVersion, parametersJSON: whole.parametersJSON,
                           researchGroup: whole.researchGroup, description: whole.description, cluster: whole.cluster, createdAt: now,
                           scriptDigest: SHA256.hash(data: Data(spec.script.utf8)).hexString,
                           intentJSON: try spec.storedJSON())
            next.state = .accepted
            attempts.append(JobStore.StepAttempt(step: step.name, previousJobID: job.id, job: next, rerunTasks: indices))
        }
        try store.resume(runID, attempts: attempts)
        return attempts.map(\.step)
    }

    /// Writes a scatter step's task scripts (from the store) where its array launcher runs them. Done
    /// before every submission of the array, so a script lost from the file system is written again.
    func writeTaskScripts(runID: UUID, step: RunStep) throws {
        let directory = step.directory + "/tasks"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (index, script) in try store.taskScripts(of: runID, step: step.name) {
            try Data(script.utf8).write(to: URL(fileURLWithPath: "\(directory)/\(index).sh"), options: .atomic)
        }
    }

    /// Step positions in an order where each comes after the steps it needs.
    static func dependencyOrder(_ steps: [RunStep]) -> [Int] {
        var done = Set<String>(), order: [Int] = []
        while order.count < steps.count {
            guard let next = steps.indices.first(where: { !order.contains($0) && steps[$0].needs.allSatisfy(done.contains) }) else { break }
            done.insert(steps[next].name)
            order.append(next)
        }
        return order
    }
}
