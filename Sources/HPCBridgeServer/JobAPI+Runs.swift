import Foundation
import HPCBridge
import HPCBridgeAPI
import OpenAPIRuntime

/// The run operations of `openapi.yaml` on `JobService`: the same translation as for jobs, and the same
/// answers for refusals (422 with every pointer, 403 for another group named, 404 for another group's run).
extension JobAPI {
    func submitRun(_ input: Operations.SubmitRun.Input) async throws -> Operations.SubmitRun.Output {
        // SubmitRequestMiddleware has checked the raw body already; this re-reads the decoded one.
        let document: JSONValue
        switch input.body {
        case .json(let body): document = try JSONValue.parse(JSONEncoder().encode(body))
        }
        let request: RunRequest
        do { request = try RunRequest(document: document) } catch {
            return .unprocessableContent(.init(body: .applicationProblemJson(Self.validationProblem(error.errors))))
        }
        let (view, created) = try await service.submitRun(request, by: try principal, idempotencyKey: input.headers.idempotencyKey)
        let representation = try Self.representation(of: view)
        if created {
            logger.info("run accepted", metadata: ["run_id": "\(view.run.id.uuidString.lowercased())", "group": "\(view.run.researchGroup)",
                                                   "pipeline": "\(view.run.pipelineName)", "samples": "\(view.sampleCount)", "state": "\(view.state.rawValue)"])
            return .created(.init(headers: .init(location: "/v1/runs/\(view.run.id.uuidString.lowercased())"), body: .json(representation)))
        }
        return .ok(.init(body: .json(representation)))
    }

    func listRuns(_ input: Operations.ListRuns.Input) async throws -> Operations.ListRuns.Output {
        let query = input.query
        var cursor: JobCursor?
        if let token = query.cursor, !token.isEmpty {
            guard let decoded = JobCursor(token: token) else {
                return .badRequest(.init(body: .applicationProblemJson(Self.problem(400, "the cursor is not one this service returned; pass next_cursor of the previous page unchanged"))))
            }
            cursor = decoded
        }
        let limit = query.limit ?? 50
        guard (1...500).contains(limit) else {
            return .badRequest(.init(body: .applicationProblemJson(Self.problem(400, "limit must be between 1 and 500; got \(limit)"))))
        }
        let page = try await service.runs(JobStore.RunFilter(researchGroup: query.researchGroup, pipeline: query.pipeline), after: cursor, limit: limit, for: try principal)
        return .ok(.init(body: .json(.init(runs: try page.runs.map(Self.representation), nextCursor: page.next?.token))))
    }

    func getRun(_ input: Operations.GetRun.Input) async throws -> Operations.GetRun.Output {
        guard let id = Self.jobID(input.path.id) else { return .notFound(.init(body: .applicationProblemJson(Self.runNotFound(input.path.id)))) }
        return .ok(.init(body: .json(try Self.representation(of: try await service.run(id, for: try principal)))))
    }

    func listRunTasks(_ input: Operations.ListRunTasks.Input) async throws -> Operations.ListRunTasks.Output {
        guard let id = Self.jobID(input.path.id) else { return .notFound(.init(body: .applicationProblemJson(Self.runNotFound(input.path.id)))) }
        let states = input.query.state?.compactMap { JobState(rawValue: $0.rawValue) }
        let (view, tasks) = try await service.tasks(ofRun: id, step: input.query.step, states: states, for: try principal)
        let directories = Dictionary(uniqueKeysWithValues: view.steps.map { ($0.step.name, $0.step.directory) })
        return .ok(.init(body: .json(.init(tasks: tasks.map { task in
            let base = "\(directories[task.step] ?? view.run.runDirectory)/tasks/\(task.index)"
            return Components.Schemas.RunTask(
                step: task.step, index: task.index, sampleId: task.sampleID,
                state: Components.Schemas.JobState(rawValue: task.state.rawValue) ?? .lost,
                failureKind: task.failureKind.flatMap { Components.Schemas.FailureKind(rawValue: $0) }, exitCode: task.exitCode,
                nativeJobId: task.nativeJobID, startedAt: task.startedAt, finishedAt: task.finishedAt,
                stdoutPath: base + ".stdout.log", stderrPath: base + ".stderr.log",
                logsUrl: "/v1/runs/\(id.uuidString.lowercased())/tasks/\(task.step)/\(task.index)/logs")
        }))))
    }

    func getRunTaskLogs(_ input: Operations.GetRunTaskLogs.Input) async throws -> Operations.GetRunTaskLogs.Output {
        guard let id = Self.jobID(input.path.id) else { return .notFound(.init(body: .applicationProblemJson(Self.runNotFound(input.path.id)))) }
        let lines = input.query.lines ?? 200
        guard (1...10_000).contains(lines) else {
            return .badRequest(.init(body: .applicationProblemJson(Self.problem(400, "lines must be between 1 and 10000; got \(lines)"))))
        }
        let tail = try await service.taskLogs(ofRun: id, step: input.path.step, index: input.path.index, lines: lines, for: try principal)
        return .ok(.init(body: .json(.init(stdout: tail.stdout, stderr: tail.stderr, truncated: tail.truncated))))
    }

    func cancelRun(_ input: Operations.CancelRun.Input) async throws -> Operations.CancelRun.Output {
        guard let id = Self.jobID(input.path.id) else { return .notFound(.init(body: .applicationProblemJson(Self.runNotFound(input.path.id)))) }
        let view = try await service.cancelRun(id, by: try principal)
        logger.info("run cancel", metadata: ["run_id": "\(id.uuidString.lowercased())", "state": "\(view.state.rawValue)"])
        return .accepted(.init(body: .json(try Self.representation(of: view))))
    }

    func resumeRun(_ input: Operations.ResumeRun.Input) async throws -> Operations.ResumeRun.Output {
        guard let id = Self.jobID(input.path.id) else { return .notFound(.init(body: .applicationProblemJson(Self.runNotFound(input.path.id)))) }
        let view = try await service.resumeRun(id, by: try principal)
        return .accepted(.init(body: .json(try Self.representation(of: view))))
    }

    /// A run as the contract shows it: its steps with task counts by state, and every declared output
    /// with its absolute path.
    static func representation(of view: JobService.RunView) throws -> Components.Schemas.Run {
        let run = view.run
        return Components.Schemas.Run(
            id: run.id.uuidString.lowercased(),
            state: Components.Schemas.JobState(rawValue: view.state.rawValue) ?? .lost,
            pipelineName: run.pipelineName, pipelineVersion: run.pipelineVersion, researchGroup: run.researchGroup, cluster: run.cluster,
            description: run.description, parameters: try JSONDecoder().decode(from: run.parametersJSON), createdAt: run.createdAt,
            finishedAt: view.finishedAt, runDirectory: run.runDirectory, sampleCount: view.sampleCount, parallelLimit: run.parallelLimit,
            tags: .init(additionalProperties: run.tags),
            steps: view.steps.map { step, job in
                Components.Schemas.RunStep(
                    name: step.name, jobId: job.id.uuidString.lowercased(),
                    state: Components.Schemas.JobState(rawValue: job.state.rawValue) ?? .lost, needs: step.needs,
                    nativeJobId: job.nativeJobID, taskCount: step.taskCount,
                    taskCounts: .init(additionalProperties: Dictionary(uniqueKeysWithValues: (view.taskCounts[step.name] ?? [:]).map { ($0.key.rawValue, $0.value) })),
                    failureKind: job.failureKind.flatMap { Components.Schemas.FailureKind(rawValue: $0) }, failureReason: job.failureReason,
                    submittedAt: job.submittedAt, startedAt: job.startedAt, finishedAt: job.finishedAt)
            },
            outputs: view.steps.flatMap { step, _ in
                step.outputs.map { Components.Schemas.RunOutput(step: step.name, name: $0.name, sampleId: $0.sampleID, path: run.runDirectory + "/" + $0.path) }
            })
    }

    static func runNotFound(_ id: String) -> Components.Schemas.Problem {
        problem(404, "no run \(id) for this token (run ids are UUIDs); GET /v1/runs lists yours")
    }
}
