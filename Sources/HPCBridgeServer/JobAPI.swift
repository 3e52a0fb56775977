import Foundation
import HPCBridge
import HPCBridgeAPI
import Logging
import OpenAPIRuntime

/// The operations of `openapi.yaml`, implemented on `JobService`: each handler translates the generated
/// input into a service call and the outcome (or the service's refusal) into the declared response.
struct JobAPI: APIProtocol {
    let service: JobService
    let serviceLogger: Logger
    /// `/openapi.yaml` with the site's pipelines written in, rebuilt on every reload.
    let contract: ServedContract
    /// Jobs as JSON bytes, kept until their row changes and shared with `EncodedJobMiddleware`: a job is
    /// read from the store (and a representation built) only when its bytes are not kept.
    let encoded: EncodedJobs

    init(service: JobService, encoded: EncodedJobs, logger: Logger) {
        self.service = service
        self.serviceLogger = logger
        self.encoded = encoded
        self.contract = ServedContract(holder: service.submitter.siteHolder, logger: logger)
    }

    /// The request's logger (with its request id) inside a request, else the service's.
    var logger: Logger { RequestLogger.current ?? serviceLogger }

    /// The caller, as `BearerAuthMiddleware` established it (it refuses requests without one first).
    var principal: APITokens.Principal {
        get throws {
            guard let principal = RequestPrincipal.current else { throw MissingPrincipal() }
            return principal
        }
    }

    private struct MissingPrincipal: Error, CustomStringConvertible {
        var description: String { "no authenticated principal; BearerAuthMiddleware must run before the handlers" }
    }

    // MARK: Jobs

    /// The generated path of a submission, taken only when `SubmitRequestMiddleware` does not answer it
    /// itself (an Accept header other than JSON's, or no such middleware): `answerSubmission` in the
    /// generated types.
    func submitJob(_ input: Operations.SubmitJob.Input) async throws -> Operations.SubmitJob.Output {
        let document: JSONValue
        switch input.body {
        case .json(let body): document = try JSONValue.parse(JSONEncoder().encode(body))
        }
        let (job, transitions, created) = try await answerSubmission(document, idempotencyKey: input.headers.idempotencyKey)
        let representation = try Self.representation(of: job, transitions: transitions)
        if created {
            return .created(.init(headers: .init(location: Self.location(of: job)), body: .json(representation)))
        }
        return .ok(.init(body: .json(representation)))
    }

    /// Submits a job request (the body as parsed, with members sent as null dropped where the contract's
    /// types drop them) for the request's principal: the job, its history, and whether it is new (201)
    /// or the first attempt's (200). Refused with `JobService.Refusal`, an unreadable request with
    /// `.invalid`.
    func answerSubmission(_ document: JSONValue, idempotencyKey: String?) async throws -> (job: Job, transitions: [JobTransition], created: Bool) {
        let request: JobRequest
        do { request = try JobRequest(document: document) } catch { throw JobService.Refusal.invalid(error.errors) }
        let (job, created, transitions) = try await service.submit(request, by: try principal, idempotencyKey: idempotencyKey)
        if created {
            logger.info("job accepted", metadata: ["job_id": "\(job.id.uuidString.lowercased())", "group": "\(job.researchGroup)", "pipeline": "\(job.pipelineName)", "state": "\(job.state.rawValue)"])
        }
        return (job, transitions, created)
    }

    /// A new job's address, for the 201's Location.
    static func location(of job: Job) -> String { "/v1/jobs/\(job.id.uuidString.lowercased())" }

    func listJobs(_ input: Operations.ListJobs.Input) async throws -> Operations.ListJobs.Output {
        let query = input.query
        var cursor: JobCursor?
        // An empty cursor is the first page (a client that keeps an empty next_cursor sends one).
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
        let filter = JobStore.Filter(researchGroup: query.researchGroup, states: query.state?.compactMap { JobState(rawValue: $0.rawValue) },
                                     pipeline: query.pipeline, createdAfter: query.createdAfter, createdBefore: query.createdBefore)
        // The page's ids from the index, then each job from its kept bytes (encoded now when none are
        // kept); EncodedJobMiddleware writes the page from them. Without it, the jobs are returned.
        let page = try await service.jobIDs(filter, after: cursor, limit: limit, for: try principal)
        let now = Date()
        guard let assembly = EncodedJobMiddleware.PageOutcome.current else {
            let kept = try await representations(of: page.ids)
            let jobs = page.ids.compactMap { kept[$0].map { Self.withDurations($0, now: now) } }
            return .ok(.init(body: .json(.init(jobs: jobs, nextCursor: page.next?.token))))
        }
        var bodies = [[UInt8]?](repeating: nil, count: page.ids.count)
        var missing: [(index: Int, id: UUID)] = []
        var epoch: UInt64?
        for (index, id) in page.ids.enumerated() {
            let (entry, seen) = encoded.lookup(id)
            if let entry { bodies[index] = entry.bytes(now: now) } else {
                missing.append((index, id))
                epoch = epoch ?? seen
            }
        }
        if let epoch {
            let kept = try await representations(of: missing.map(\.id))
            let encoder = encoded.encoder()
            for (index, id) in missing {
                guard let representation = kept[id] else { continue }
                let entry = try encoded.entry(for: representation, encoder: encoder)
                encoded.keep(entry, for: id, ifUnchangedSince: epoch)
                bodies[index] = entry.bytes(now: now)
            }
        }
        assembly.set(jobs: bodies.compactMap { $0 }, nextCursor: page.next?.token)
        return .ok(.init(body: .json(.init(jobs: [], nextCursor: page.next?.token))))
    }

    /// These jobs as the contract shows them, read in one batch.
    private func representations(of ids: [UUID]) async throws -> [UUID: Components.Schemas.Job] {
        var loaded: [UUID: Components.Schemas.Job] = [:]
        for (id, found) in try await service.store.jobsWithTransitions(ids: ids) {
            loaded[id] = try Self.representation(of: found.job, transitions: found.transitions)
        }
        return loaded
    }

    func getJob(_ input: Operations.GetJob.Input) async throws -> Operations.GetJob.Output {
        guard let id = Self.jobID(input.path.id) else { return .notFound(.init(body: .applicationProblemJson(Self.notFound(input.path.id)))) }
        let principal = try principal
        // Reached when EncodedJobMiddleware keeps no bytes for the job (or they are another group's).
        let loaded = try await service.job(id, for: principal)
        let representation = try Self.representation(of: loaded.job, transitions: loaded.transitions)
        EncodedJobMiddleware.Outcome.current?.set(representation)
        return .ok(.init(body: .json(representation)))
    }

    func cancelJob(_ input: Operations.CancelJob.Input) async throws -> Operations.CancelJob.Output {
        guard let id = Self.jobID(input.path.id) else { return .notFound(.init(body: .applicationProblemJson(Self.notFound(input.path.id)))) }
        let job = try await service.cancel(id, by: try principal)
        logger.info("job cancel", metadata: ["job_id": "\(job.id.uuidString.lowercased())", "state": "\(job.state.rawValue)"])
        let transitions = try await service.storeCall { try $0.transitions(of: id) }
        return .accepted(.init(body: .json(try Self.representation(of: job, transitions: transitions))))
    }

    func getJobLogs(_ input: Operations.GetJobLogs.Input) async throws -> Operations.GetJobLogs.Output {
        guard let id = Self.jobID(input.path.id) else { return .notFound(.init(body: .applicationProblemJson(Self.notFound(input.path.id)))) }
        let lines = input.query.lines ?? 200
        guard (1...10_000).contains(lines) else {
            return .badRequest(.init(body: .applicationProblemJson(Self.problem(400, "lines must be between 1 and 10000; got \(lines)"))))
        }
        if input.query.follow == true {
            let stream = try await service.logStream(id, lines: lines, for: try principal)
            return .ok(.init(body: .textEventStream(HTTPBody(stream, length: .unknown))))
        }
        let tail = try await service.logs(id, lines: lines, for: try principal)
        return .ok(.init(body: .json(.init(stdout: tail.stdout, stderr: tail.stderr, truncated: tail.truncated))))
    }

    func streamEvents(_ input: Operations.StreamEvents.Input) async throws -> Operations.StreamEvents.Output {
        var jobID: UUID?
        if let text = input.query.jobId {
            guard let id = Self.jobID(text) else { return .notFound(.init(body: .applicationProblemJson(Self.notFound(text)))) }
            jobID = id
        }
        var runID: UUID?
        if let text = input.query.runId {
            guard let id = Self.jobID(text) else { return .notFound(.init(body: .applicationProblemJson(Self.problem(404, "no run \(JSONValue.quote(text)); GET /v1/runs lists yours")))) }
            runID = id
        }
        do {
            let stream = try await service.eventStream(for: try principal, lastEventID: input.headers.lastEventID, jobID: jobID, runID: runID)
            return .ok(.init(body: .textEventStream(HTTPBody(stream, length: .unknown))))
        } catch let refusal as JobService.Refusal {
            switch refusal {
            case .invalid: return .badRequest(.init(body: .applicationProblemJson(Self.problem(400, refusal.description))))
            case .unavailable(let detail, let wait):
                return .serviceUnavailable(.init(headers: .init(retryAfter: wait), body: .applicationProblemJson(Self.problem(503, detail))))
            default: return .notFound(.init(body: .applicationProblemJson(Self.problem(404, refusal.description))))
            }
        }
    }

    // MARK: Pipelines

    func listPipelines(_ input: Operations.ListPipelines.Input) async throws -> Operations.ListPipelines.Output {
        let summaries: [Components.Schemas.PipelineSummary] = try service.site.catalog.sorted.map { try $0.summaryDocument.decoded() }
        return .ok(.init(body: .json(.init(pipelines: summaries))))
    }

    func getPipeline(_ input: Operations.GetPipeline.Input) async throws -> Operations.GetPipeline.Output {
        let name = input.path.name
        let catalog = service.site.catalog
        guard let pipeline = catalog.pipelines[name] else {
            let known = catalog.pipelines.keys.sorted()
            return .notFound(.init(body: .applicationProblemJson(Self.problem(404, "no pipeline \"\(name)\"\(EditDistance.hint(for: name, among: known)); GET /v1/pipelines lists them"))))
        }
        return .ok(.init(body: .json(try pipeline.document.decoded())))
    }

    // MARK: Operations

    func health(_ input: Operations.Health.Input) async throws -> Operations.Health.Output {
        .ok(.init(body: .json(.init(status: .ok))))
    }

    func ready(_ input: Operations.Ready.Input) async throws -> Operations.Ready.Output {
        let checks = await service.readiness()
        let readiness = Components.Schemas.Readiness(
            ready: checks.values.allSatisfy(\.ok),
            checks: .init(additionalProperties: checks.mapValues { .init(ok: $0.ok, detail: $0.detail) }))
        return readiness.ready ? .ok(.init(body: .json(readiness))) : .serviceUnavailable(.init(body: .json(readiness)))
    }

    func metrics(_ input: Operations.Metrics.Input) async throws -> Operations.Metrics.Output {
        .ok(.init(body: .plainText(HTTPBody(service.metrics?.exposition() ?? ""))))
    }

    func openapiDocument(_ input: Operations.OpenapiDocument.Input) async throws -> Operations.OpenapiDocument.Output {
        .ok(.init(body: .yaml(HTTPBody(contract.current))))
    }

    // MARK: Representations

    static func hasEnded(_ job: Components.Schemas.Job) -> Bool {
        JobState(rawValue: job.state.rawValue)?.isTerminal ?? true
    }

    /// A job's representation with its queue wait and run time worked out at `now` from its own times
    /// (they grow while the job waits or runs, so a kept representation is brought up to date).
    static func withDurations(_ job: Components.Schemas.Job, now: Date) -> Components.Schemas.Job {
        var current = job
        (current.queueWaitSeconds, current.runSeconds) = durations(submittedAt: job.submittedAt, startedAt: job.startedAt, finishedAt: job.finishedAt,
                                                                   ended: hasEnded(job), now: now)
        return current
    }

    /// Queue wait (submission to start, or to now while queued) and run time (start to end, or to now
    /// while running), as of `now`.
    static func durations(submittedAt: Date?, startedAt: Date?, finishedAt: Date?, ended: Bool, now: Date) -> (queueWait: Double?, run: Double?) {
        (submittedAt.map { submitted in max(0, (startedAt ?? (ended ? finishedAt ?? submitted : now)).timeIntervalSince(submitted)) },
         startedAt.map { started in max(0, (finishedAt ?? now).timeIntervalSince(started)) })
    }

    /// A job as the contract shows it, with queue wait and run time worked out (up to now while they last).
    static func representation(of job: Job, transitions: [JobTransition], now: Date = Date()) throws -> Components.Schemas.Job {
        withDurations(Components.Schemas.Job(
            id: job.id.uuidString.lowercased(),
            state: Components.Schemas.JobState(rawValue: job.state.rawValue) ?? .lost,
            failureKind: job.failureKind.flatMap { Components.Schemas.FailureKind(rawValue: $0) },
            failureReason: job.failureReason,
            exitCode: job.exitCode,
            exitSignal: job.exitSignal,
            pipelineName: job.pipelineName,
            pipelineVersion: job.pipelineVersion,
            // Stored as canonical JSON text: decoded straight into the contract type (one decode, not a
            // JSONValue round trip, which was a tenth of a job read's time in the profile).
            parameters: try JSONDecoder().decode(from: job.parametersJSON),
            researchGroup: job.researchGroup,
            description: job.description,
            cluster: job.cluster,
            nativeJobId: job.nativeJobID,
            createdAt: job.createdAt,
            submittedAt: job.submittedAt,
            startedAt: job.startedAt,
            finishedAt: job.finishedAt,
            queueWaitSeconds: nil,
            runSeconds: nil,
            scriptDigest: job.scriptDigest,
            requeueCount: job.requeueCount,
            transitions: transitions.map { t in
                Components.Schemas.Transition(
                    sequence: t.sequence,
                    fromState: t.fromState.flatMap { Components.Schemas.JobState(rawValue: $0.rawValue) },
                    toState: Components.Schemas.JobState(rawValue: t.toState.rawValue) ?? .lost,
                    at: t.at,
                    source: Components.Schemas.Transition.SourcePayload(rawValue: t.source) ?? .reconciler,
                    reason: t.reason)
            }), now: now)
    }

    static func problem(_ status: Int, _ detail: String) -> Components.Schemas.Problem {
        Components.Schemas.Problem(_type: "about:blank", title: ProblemResponse.title(of: status), status: status, detail: detail)
    }

    /// A job id from a path or query: the canonical UUID text only. (Foundation's parser reads a C
    /// string, so it took `<uuid>%00` for the job, and anything after a NUL was silently dropped.)
    static func jobID(_ text: String) -> UUID? {
        UUID(canonicalUTF8: text[...].utf8)
    }

    static func notFound(_ id: String) -> Components.Schemas.Problem {
        problem(404, "no job \(id) for this token (job ids are UUIDs); GET /v1/jobs lists yours")
    }

    static func validationProblem(_ errors: [ValidationError]) -> Components.Schemas.ValidationProblem {
        let count = errors.count
        return Components.Schemas.ValidationProblem(
            _type: "about:blank", title: "Unprocessable Content", status: 422,
            detail: "the request has \(count) error\(count == 1 ? "" : "s"); each names the field by its JSON Pointer",
            errors: errors.map { .init(pointer: $0.pointer.description, message: $0.message) })
    }
}

import HTTPTypes

extension JSONValue {
    /// This value as one of the generated contract types (both sides speak JSON).
    func decoded<T: Decodable>() throws -> T {
        try JSONDecoder().decode(from: jsonText)
    }
}

extension JSONDecoder {
    /// A contract type from JSON text, its type inferred from where it goes.
    func decode<T: Decodable>(from text: String) throws -> T {
        try decode(T.self, from: Data(text.utf8))
    }
}
