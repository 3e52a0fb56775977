import Foundation
import HPCBridge
import HPCBridgeWESAPI
import Logging
import OpenAPIRuntime

/// The GA4GH WES 1.1.0 handlers (`HPCBridgeWESAPI`'s generated protocol), over the same `JobService` as
/// /v1: a WES run is a /v1 run. The service's refusals, and the handlers' own (`WESRefusal`), are thrown
/// and answered by `WESErrorMiddleware` with the status and words /v1 gives them (`RefusalAnswer`); only
/// successes are returned here.
struct WESAPI: APIProtocol {
    /// Where GA4GH WES lives on every server (the specification's base path).
    static let basePath = "/ga4gh/wes/v1"

    let service: JobService
    let logger: Logger

    private var principal: APITokens.Principal {
        get throws {
            guard let principal = RequestPrincipal.current else { throw WESRefusal(.init(status: .unauthorized, message: "this operation needs a bearer token")) }
            return principal
        }
    }

    /// Absolute URLs of this request's service (the config's `public_url`, else the request's Host).
    private var links: WESLinks {
        WESLinks(base: service.site.config.publicURL ?? WESRequestContext.current?.base ?? "http://\(service.site.config.listen)")
    }

    // MARK: Service info

    func getServiceInfo(_ input: Operations.GetServiceInfo.Input) async throws -> Operations.GetServiceInfo.Output {
        let site = service.site, config = site.config
        let host = ProcessInfo.processInfo.hostName
        let settings = config.wes
        var counts: [String: Int64] = [:]
        if let principal = RequestPrincipal.current {
            let group: String? = if case .group(let own) = principal { own } else { nil }
            let outcomes = try await service.storeCall { try $0.stepOutcomes(group: group) }
            for outcome in outcomes {
                counts[WESState.of(run: outcome.steps, cancelRequested: outcome.cancelRequested).rawValue, default: 0] += 1
            }
        }
        var engines: [String: Components.Schemas.WorkflowEngineVersion] = [WESRunRequest.workflowEngine: .init(workflowEngineVersion: [BridgeVersion.current])]
        for cluster in config.clusters.values {
            let version = await service.reconcilers[cluster.name]?.limits()?.version
            let name = cluster.scheduler.rawValue
            let known = engines[name]?.workflowEngineVersion ?? []
            engines[name] = .init(workflowEngineVersion: Array(Set(known + [version ?? "unknown"])).sorted())
        }
        let group: ResearchGroup? = if case .group(let own)? = RequestPrincipal.current { config.groups[own] } else { nil }
        let info = Components.Schemas.ServiceInfo(
            id: settings.serviceID ?? WESLinks.reverseDomainID(host: host),
            name: settings.name ?? "hpcbridge on \(host)",
            _type: .init(group: "org.ga4gh", artifact: "wes", version: "1.1.0"),
            description: "Pipelines of this site's catalog, validated, rendered and submitted to \(Set(config.clusters.values.map { $0.scheduler.rawValue.capitalized }).sorted().joined(separator: " and ")) per research group.",
            organization: .init(name: settings.organizationName ?? host, url: settings.organizationURL ?? links.base),
            contactUrl: settings.contactURL,
            documentationUrl: links.url("/ga4gh/wes/v1/openapi.yaml"),
            version: BridgeVersion.current,
            workflowTypeVersions: .init(additionalProperties: [WESRunRequest.workflowType: .init(workflowTypeVersion: WESRunRequest.workflowTypeVersions)]),
            supportedWesVersions: ["1.1.0"],
            supportedFilesystemProtocols: WESLinks.filesystemProtocols(of: site.catalog),
            workflowEngineVersions: .init(additionalProperties: engines),
            defaultWorkflowEngineParameters: [
                .init(name: "parallel_limit", _type: "integer", defaultValue: group.map { String($0.maxActiveJobs) } ?? ""),
                .init(name: "resources", _type: "object", defaultValue: "{}"),
                .init(name: "research_group", _type: "string", defaultValue: group?.name ?? ""),
            ],
            systemStateCounts: .init(additionalProperties: counts),
            authInstructionsUrl: settings.authInstructionsURL ?? links.url("/ga4gh/wes/v1/openapi.yaml"),
            tags: .init(additionalProperties: [
                "pipelines": site.catalog.pipelines.keys.sorted().joined(separator: ","),
                "pipelines_url": links.url("/v1/pipelines"),
            ]))
        return .ok(.init(body: .json(info)))
    }

    // MARK: Runs

    func listRuns(_ input: Operations.ListRuns.Input) async throws -> Operations.ListRuns.Output {
        var cursor: JobCursor?
        if let token = input.query.pageToken, !token.isEmpty {
            guard let decoded = JobCursor(token: token) else {
                throw WESRefusal(.init(status: .badRequest, message: "the page_token is not one this service returned; pass next_page_token of the previous page unchanged"))
            }
            cursor = decoded
        }
        let limit = Int(input.query.pageSize ?? 50)
        guard (1...500).contains(limit) else { throw WESRefusal(.init(status: .badRequest, message: "page_size must be between 1 and 500; got \(limit)")) }
        let principal = try principal
        let page = try await service.runs(JobStore.RunFilter(), after: cursor, limit: limit, for: principal)
        let runs = page.runs.map { view in
            Components.Schemas.RunSummary(runId: view.run.id.uuidString.lowercased(), state: Self.state(of: view),
                                          startTime: WESRunView(view).startedAt, endTime: view.finishedAt,
                                          tags: .init(additionalProperties: view.run.tags))
        }
        return .ok(.init(body: .json(.init(runs: runs, nextPageToken: page.next?.token ?? ""))))
    }

    func runWorkflow(_ input: Operations.RunWorkflow.Input) async throws -> Operations.RunWorkflow.Output {
        let received: WESRunRequest
        do {
            switch input.body {
            case .json(let body):
                received = try WESRunRequest(json: try JSONValue.parse(JSONEncoder().encode(body)))
            case .urlEncodedForm(let form):
                received = try WESRunRequest(fields: Self.fields(of: form), attachments: 0)
            case .multipartForm(let parts):
                let fields: [String: String], attachments: Int
                do { (fields, attachments) = try await Self.multipartFields(of: parts) } catch {
                    // The runtime checks the parts as they are read (a required one missing, one sent twice).
                    throw WESRefusal(.init(status: .badRequest, message: "the multipart body is not a run request: \(error)"))
                }
                received = try WESRunRequest(fields: fields, attachments: attachments)
            }
        } catch let failure as ValidationFailure {
            throw WESRefusal(RefusalAnswer(.invalid(failure.errors), on: .submission))
        }
        let principal = try principal
        let request: RunRequest
        do { request = try received.runRequest(for: principal, catalog: service.site.catalog) } catch {
            throw WESRefusal(RefusalAnswer(.invalid(error.errors), on: .submission))
        }
        do {
            let (view, created) = try await service.submitRun(request, by: principal, idempotencyKey: input.headers.idempotencyKey)
            if created {
                logger.info("run accepted", metadata: ["run_id": "\(view.run.id.uuidString.lowercased())", "group": "\(view.run.researchGroup)",
                                                       "pipeline": "\(view.run.pipelineName)", "api": "wes"])
            }
            return .ok(.init(body: .json(.init(runId: view.run.id.uuidString.lowercased()))))
        } catch JobService.Refusal.invalid(let errors) {
            // The planner's pointers are a /v1 request's; the client sent a WES request.
            throw JobService.Refusal.invalid(errors.map { ValidationError(pointer: WESRunRequest.pointer(forPlannerPointer: $0.pointer), message: $0.message) }.sorted())
        }
    }

    func getRunLog(_ input: Operations.GetRunLog.Input) async throws -> Operations.GetRunLog.Output {
        let (view, tasks) = try await tasks(of: input.path.runId)
        let wes = WESRunView(view, tasks: tasks)
        let links = self.links
        let id = view.run.id.uuidString.lowercased()
        let decisive = wes.decisiveTask
        var runLog = Components.Schemas.Log(name: view.run.pipelineName, startTime: wes.startedAt, endTime: view.finishedAt,
                                            stdout: links.url("/ga4gh/wes/v1/runs/\(id)/logs/stdout"),
                                            stderr: links.url("/ga4gh/wes/v1/runs/\(id)/logs/stderr"))
        if let decisive {
            runLog.exitCode = decisive.exitCode.map(Int32.init(clamping:))
            runLog.systemLogs = decisive.systemLogs
        }
        let body = Components.Schemas.RunLog(
            runId: id, request: try Self.request(of: view.run), state: Self.state(of: view), runLog: runLog,
            taskLogsUrl: links.url("/ga4gh/wes/v1/runs/\(id)/tasks"),
            outputs: try Self.container(wes.outputs))
        return .ok(.init(body: .json(body)))
    }

    func getRunStatus(_ input: Operations.GetRunStatus.Input) async throws -> Operations.GetRunStatus.Output {
        let view = try await run(input.path.runId)
        return .ok(.init(body: .json(.init(runId: view.run.id.uuidString.lowercased(), state: Self.state(of: view)))))
    }

    func cancelRun(_ input: Operations.CancelRun.Input) async throws -> Operations.CancelRun.Output {
        let id = try Self.runID(input.path.runId)
        let principal = try principal
        let view = try await service.cancelRun(id, by: principal)
        logger.info("run cancel", metadata: ["run_id": "\(view.run.id.uuidString.lowercased())", "api": "wes"])
        return .ok(.init(body: .json(.init(runId: view.run.id.uuidString.lowercased()))))
    }

    // MARK: Tasks

    func listTasks(_ input: Operations.ListTasks.Input) async throws -> Operations.ListTasks.Output {
        let limit = Int(input.query.pageSize ?? 100)
        guard (1...1000).contains(limit) else { throw WESRefusal(.init(status: .badRequest, message: "page_size must be between 1 and 1000; got \(limit)")) }
        var start = 0
        if let token = input.query.pageToken, !token.isEmpty {
            guard let offset = Int(token), offset >= 0 else {
                throw WESRefusal(.init(status: .badRequest, message: "the page_token is not one this service returned; pass next_page_token of the previous page unchanged"))
            }
            start = offset
        }
        let (view, tasks) = try await tasks(of: input.path.runId)
        let all = WESRunView(view, tasks: tasks).tasks
        let page = all.dropFirst(start).prefix(limit)
        let next = start + page.count < all.count ? String(start + page.count) : ""
        let links = self.links
        return .ok(.init(body: .json(.init(taskLogs: page.map { $0.log(links: links, runID: view.run.id) }, nextPageToken: next))))
    }

    func getTask(_ input: Operations.GetTask.Input) async throws -> Operations.GetTask.Output {
        let (view, task) = try await task(input.path.taskId, of: input.path.runId)
        return .ok(.init(body: .json(task.log(links: links, runID: view.run.id))))
    }

    // MARK: Log text

    func getRunLogText(_ input: Operations.GetRunLogText.Input) async throws -> Operations.GetRunLogText.Output {
        let lines = try Self.lines(input.query.lines)
        let (view, tasks) = try await tasks(of: input.path.runId)
        guard let task = WESRunView(view, tasks: tasks).decisiveTask else { return .ok(.init(body: .plainText(HTTPBody("")))) }
        let text = try await logText(of: task, in: view, stream: input.path.stream, lines: lines)
        return .ok(.init(body: .plainText(HTTPBody(text))))
    }

    func getTaskLogText(_ input: Operations.GetTaskLogText.Input) async throws -> Operations.GetTaskLogText.Output {
        let lines = try Self.lines(input.query.lines)
        let (view, task) = try await task(input.path.taskId, of: input.path.runId)
        let text = try await logText(of: task, in: view, stream: input.path.stream, lines: lines)
        return .ok(.init(body: .plainText(HTTPBody(text))))
    }

    private func logText(of task: WESRunView.Task, in view: JobService.RunView, stream: Components.Parameters.Stream, lines: Int) async throws -> String {
        let principal = try principal
        let tail: LogTail = switch task.kind {
        case .step(let name, _): try await service.stepLogs(ofRun: view.run.id, step: name, lines: lines, for: principal)
        case .arrayTask(let step, let index): try await service.taskLogs(ofRun: view.run.id, step: step, index: index, lines: lines, for: principal)
        }
        return stream == .stdout ? tail.stdout : tail.stderr
    }

    // MARK: Helpers

    /// A run the caller may see.
    private func run(_ text: String) async throws -> JobService.RunView {
        let id = try Self.runID(text)
        let principal = try principal
        return try await service.run(id, for: principal)
    }

    /// A run and every one of its array tasks.
    private func tasks(of text: String) async throws -> (JobService.RunView, [RunTask]) {
        let id = try Self.runID(text)
        let principal = try principal
        return try await service.tasks(ofRun: id, step: nil, states: nil, for: principal)
    }

    /// One task of a run, by its WES id (`STEP` or `STEP.INDEX`).
    private func task(_ taskID: String, of runID: String) async throws -> (JobService.RunView, WESRunView.Task) {
        let (view, tasks) = try await tasks(of: runID)
        guard let task = WESRunView(view, tasks: tasks).task(taskID) else {
            throw WESRefusal(.init(status: .notFound, message: "run \(runID) has no task \(taskID); GET /ga4gh/wes/v1/runs/\(runID)/tasks lists them"))
        }
        return (view, task)
    }

    private static func runID(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else {
            throw WESRefusal(.init(status: .notFound, message: "no run \(text) for this token (run ids are UUIDs); GET /ga4gh/wes/v1/runs lists yours"))
        }
        return id
    }

    private static func lines(_ asked: Int?) throws -> Int {
        let lines = asked ?? 200
        guard (1...10_000).contains(lines) else { throw WESRefusal(.init(status: .badRequest, message: "lines must be between 1 and 10000; got \(lines)")) }
        return lines
    }

    static func state(of view: JobService.RunView) -> Components.Schemas.State {
        let wes = WESState.of(run: view.steps.map { ($0.job.state, $0.job.failureKind) }, cancelRequested: view.run.cancelRequestedAt != nil)
        return Components.Schemas.State(rawValue: wes.rawValue)!
    }

    /// The request as received (WES), or as a WES request would have said it (/v1).
    static func request(of run: Run) throws -> Components.Schemas.RunRequest {
        let document: JSONValue
        if let text = run.receivedRequestJSON, let received = try? JSONValue.parse(text) {
            document = received
        } else {
            var params = (try? JSONValue.parse(run.parametersJSON))?.objectValue ?? [:]
            if let rows = try? JSONValue.parse(run.samplesJSON), rows != .array([]) { params[WESRunRequest.samplesParameter] = rows }
            var engine: [String: JSONValue] = ["research_group": .string(run.researchGroup)]
            if let limit = run.parallelLimit { engine["parallel_limit"] = .string(String(limit)) }
            document = .object([
                "workflow_url": .string(run.pipelineName), "workflow_type": .string(WESRunRequest.workflowType),
                "workflow_type_version": .string(WESRunRequest.workflowTypeVersions.last!), "workflow_params": .object(params),
                "tags": .object(run.tags.mapValues(JSONValue.string)), "workflow_engine_parameters": .object(engine),
            ])
        }
        return try JSONDecoder().decode(Components.Schemas.RunRequest.self, from: Data(document.jsonText.utf8))
    }

    /// A JSON object as the generated code's free-form object.
    static func container(_ object: [String: JSONValue]) throws -> OpenAPIObjectContainer {
        try JSONDecoder().decode(OpenAPIObjectContainer.self, from: Data(JSONValue.object(object).jsonText.utf8))
    }

    /// Form fields by name (the last of a repeated one).
    static func fields(of form: Components.Schemas.RunRequestFields) -> [String: String] {
        var fields: [String: String] = ["workflow_url": form.workflowUrl]
        fields["workflow_params"] = form.workflowParams
        fields["workflow_type"] = form.workflowType
        fields["workflow_type_version"] = form.workflowTypeVersion
        fields["tags"] = form.tags
        fields["workflow_engine"] = form.workflowEngine
        fields["workflow_engine_version"] = form.workflowEngineVersion
        fields["workflow_engine_parameters"] = form.workflowEngineParameters
        return fields
    }

    /// The text parts of a multipart body by name, and how many attachments it had.
    static func multipartFields(of parts: MultipartBody<Components.Schemas.RunRequestForm>) async throws -> ([String: String], Int) {
        var fields: [String: String] = [:]
        var attachments = 0
        func text(_ body: HTTPBody) async throws -> String { try await String(collecting: body, upTo: SubmitRequestMiddleware.maximumBodyBytes) }
        for try await part in parts {
            switch part {
            case .workflowParams(let part): fields["workflow_params"] = try await text(part.payload.body)
            case .workflowType(let part): fields["workflow_type"] = try await text(part.payload.body)
            case .workflowTypeVersion(let part): fields["workflow_type_version"] = try await text(part.payload.body)
            case .tags(let part): fields["tags"] = try await text(part.payload.body)
            case .workflowEngine(let part): fields["workflow_engine"] = try await text(part.payload.body)
            case .workflowEngineVersion(let part): fields["workflow_engine_version"] = try await text(part.payload.body)
            case .workflowEngineParameters(let part): fields["workflow_engine_parameters"] = try await text(part.payload.body)
            case .workflowUrl(let part): fields["workflow_url"] = try await text(part.payload.body)
            // Every part's body is read to its end, or the multipart reader stops at the next part.
            case .workflowAttachment(let part):
                attachments += 1
                _ = try await text(part.payload.body)
            case .undocumented(let part): _ = try await text(part.body)
            }
        }
        return (fields, attachments)
    }
}

/// A refusal on the WES routes, answered by `WESErrorMiddleware`.
struct WESRefusal: Error, Sendable {
    let answer: RefusalAnswer
    init(_ answer: RefusalAnswer) { self.answer = answer }
}
