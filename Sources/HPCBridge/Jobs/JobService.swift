import Foundation
import Logging

/// What the API does with jobs, for one caller at a time: submit under the group's quotas, show, list,
/// cancel and read logs, always within what the caller's token may see.
///
/// The HTTP layer only translates; every rule (isolation, quotas, idempotency, cancel races) lives here
/// so the CLI, the API and the tests share it.
public struct JobService: Sendable {
    public typealias Principal = APITokens.Principal

    /// The site now (shared with the submitter; a reload swaps it).
    public var site: Site { submitter.site }
    public let store: JobStore
    public let submitter: JobSubmitter
    /// One reconciler per cluster: their controller health gates the immediate submission and readiness.
    public let reconcilers: [String: Reconciler]
    let rateLimiter: SubmissionRateLimiter
    public let metrics: BridgeMetrics?
    /// Live changes for event streams (nil where no stream is served).
    public let events: JobEventHub?
    /// API tokens in memory (run it as a service so revocations by other processes are seen).
    public let tokens: TokenCache
    var logger: Logger
    /// How long a request waits for the scheduler (the immediate submission, a cancel) before it answers
    /// without it: a hung controller holds a call for libslurm's timeout, and a client must not wait that.
    /// A submission goes on in the background and is recorded when the controller answers.
    public var schedulerWait: Duration = .seconds(2)

    public init(store: JobStore, submitter: JobSubmitter, reconcilers: [String: Reconciler],
                rateLimiter: SubmissionRateLimiter = SubmissionRateLimiter(), metrics: BridgeMetrics? = nil, events: JobEventHub? = nil,
                logger: Logger = Logger(label: "hpcbridge.jobs")) {
        self.store = store
        self.submitter = submitter
        self.reconcilers = reconcilers
        self.rateLimiter = rateLimiter
        self.metrics = metrics
        self.events = events
        self.logger = logger
        self.tokens = TokenCache(store: store, logger: logger)
    }

    /// Why a call was refused, in the terms the API answers with.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// Invalid request: every error with its pointer (422).
        case invalid([ValidationError])
        /// The token may not do this (403): another group named, or a pipeline the group may not run.
        case forbidden(String)
        /// No such job for this caller (404), also for another group's job.
        case notFound(String)
        /// The request conflicts with what exists (409).
        case conflict(String)
        /// Over a quota (429), with seconds to wait.
        case overQuota(String, retryAfter: Int)
        /// Nothing changed because a dependency did not answer (503), with seconds to wait.
        case unavailable(String, retryAfter: Int)

        public var description: String {
            switch self {
            case .invalid(let errors): return errors.map(\.description).joined(separator: "; ")
            case .forbidden(let s), .notFound(let s), .conflict(let s), .overQuota(let s, _), .unavailable(let s, _): return s
            }
        }
    }

    // MARK: Submit

    /// Accepts a request for the caller and, when the controller is answering, submits it at once; with
    /// the controller down it stays `accepted` and the reconciler submits it later. `created` is false
    /// for a retry with the same Idempotency-Key.
    public func submit(_ request: JobRequest, by principal: Principal, idempotencyKey: String?, now: Date = Date()) async throws
        -> (job: Job, created: Bool, transitions: [JobTransition]) {
        if case .group(let own) = principal, request.researchGroup != own {
            throw Refusal.forbidden("this token acts for research group \"\(own)\"; a request may only name its own group, not \"\(request.researchGroup)\"")
        }
        // A retry of an earlier request: answer it without counting against the quotas.
        if let idempotencyKey, try await storeCall({ try $0.jobID(group: request.researchGroup, idempotencyKey: idempotencyKey) }) != nil {
            let retried = try await accept(request, idempotencyKey: idempotencyKey, now: now)
            return try await answer(retried.job, created: retried.created)
        }
        // The active-jobs quota is checked where the job is inserted, in the transaction, where
        // concurrent requests cannot pass it together (a separate look before planning cost every
        // submission a read; the rate limit already bounds what refused requests can cost).
        let group = site.config.groups[request.researchGroup]
        if let group, let wait = rateLimiter.admit(group: group.name, perMinute: group.submissionsPerMinute, now: now) {
            metrics?.quotaRefused(group: group.name, quota: "submissions_per_minute")
            throw Refusal.overQuota("research group \"\(group.name)\" may submit \(group.submissionsPerMinute) jobs per minute; retry in \(wait) s", retryAfter: wait)
        }
        // With the controller known down the job is only stored; the reconciler submits it later.
        var controllerDown = false
        if let cluster = group?.cluster, let reconciler = reconcilers[cluster] { controllerDown = await reconciler.health().knownDown }
        let lane = SubmissionLane(submitter: submitter, schedulerWait: schedulerWait)
        let outcome: SubmissionLane.Outcome
        do {
            outcome = try await lane.run(request, idempotencyKey: idempotencyKey, activeLimit: group?.maxActiveJobs, submitNow: !controllerDown, now: now)
        } catch {
            rateLimiter.refund(group: request.researchGroup)
            let refusal = refusalInTheAPIsTerms(error)
            if case Refusal.invalid = refusal { metrics?.validationRejected(group: request.researchGroup, pipeline: request.pipelineName) }
            throw refusal
        }
        switch outcome {
        case .answered(let job, let transitions):
            return (job, true, transitions)
        case .retried(let job):
            rateLimiter.refund(group: request.researchGroup)
            return try await answer(job, created: false)
        case .stillSubmitting(let job):
            logger.info("the controller did not answer within \(schedulerWait); the job is accepted and its submission goes on", metadata: ["job_id": "\(job.id.uuidString.lowercased())"])
            let id = job.id
            return try await answer(try await storeCall { try $0.job(id) } ?? job, created: true)
        case .handedBack(let job, let spec):
            return try await submitStaged(job, spec: spec)
        }
    }

    /// The staged submission of a stored job (a backend without a blocking submission, or every lane's
    /// scheduler slot taken): the call runs on the scheduler's pool, and the caller waits `schedulerWait`.
    private func submitStaged(_ job: Job, spec: BatchJobSpec) async throws -> (job: Job, created: Bool, transitions: [JobTransition]) {
        let submitter = self.submitter
        do {
            if let submitted = try await Deadline.valueIfReady(within: schedulerWait, of: { try await submitter.submit(job, spec: spec) }) {
                return try await answer(submitted, created: true)
            }
            logger.info("the controller did not answer within \(schedulerWait); the job is accepted and its submission goes on", metadata: ["job_id": "\(job.id.uuidString.lowercased())"])
            return try await answer(job, created: true)
        } catch {
            // The job is durable as accepted; the reconciler retries. The caller still gets its 201.
            logger.error("immediate submission failed; the reconciler will retry", metadata: ["job_id": "\(job.id.uuidString.lowercased())", "error": "\(error)"])
            let id = job.id
            let current = try await storeCall { try $0.job(id) }
            return try await answer(current ?? job, created: true)
        }
    }

    /// A submission's answer: the job with its history as stored. (Read back rather than assembled from
    /// the writes: with a store whose files turned immutable, an access pattern without this read
    /// crashed the service with SIGBUS inside SQLite, whose shared-memory file is mapped; see
    /// RELIABILITY.md. Understood only in part.)
    private func answer(_ job: Job, created: Bool) async throws -> (job: Job, created: Bool, transitions: [JobTransition]) {
        let id = job.id
        return (job, created, try await storeCall { try $0.transitions(of: id) })
    }

    private func accept(_ request: JobRequest, idempotencyKey: String?, activeLimit: Int? = nil, now: Date) async throws -> JobSubmitter.Accepted {
        do {
            return try await submitter.acceptAndPlan(request, idempotencyKey: idempotencyKey, activeLimit: activeLimit, now: now)
        } catch {
            throw refusalInTheAPIsTerms(error)
        }
    }

    /// A synchronous store call off the cooperative pool (`JobStore.offload`); a store that does not
    /// answer in time is a 503 to retry, not a request that hangs.
    public func storeCall<T: Sendable>(deadline: Duration = JobStore.requestDeadline, _ call: @escaping @Sendable (JobStore) throws -> T) async throws -> T {
        do {
            return try await store.offload(deadline: deadline, call)
        } catch let timedOut as BlockingCallPool.TimedOut {
            throw Refusal.unavailable("the job store did not answer within \(timedOut.deadline) (is its disk hung?); retry later", retryAfter: 30)
        } catch let full as BlockingCallPool.Saturated {
            throw Refusal.unavailable("the job store cannot be reached now: \(full)", retryAfter: 30)
        }
    }

    /// Runs `body`, turning the planner's and the store's refusals into the API's (`Refusal`), for jobs
    /// and runs alike.
    func refusingInTheAPIsTerms<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw refusalInTheAPIsTerms(error)
        }
    }

    /// The planner's and the store's refusals in the API's terms (`Refusal`); any other error as it is.
    func refusalInTheAPIsTerms(_ error: any Error) -> any Error {
        switch error {
        case let refusal as JobPlanner.Refusal:
            switch refusal {
            case .invalid(let failure): return Refusal.invalid(failure.errors)
            case .notAllowed(let error): return Refusal.forbidden(error.description)
            }
        case let failure as ValidationFailure:
            return Refusal.invalid(failure.errors)
        case JobStore.StoreError.idempotencyConflict(let key):
            return Refusal.conflict(JobStore.StoreError.idempotencyConflict(key: key).description)
        case JobStore.StoreError.overQuota(let group, let active):
            return activeJobsRefusal(group: group, active: active)
        case let error as RenderError:
            // Values that passed validation but cannot be placed safely (an output path leaving the run
            // directory): the request's fault, never the service's.
            return Refusal.invalid([ValidationError(pointer: .root, message: error.description)])
        default:
            return error
        }
    }

    /// A submission over `max_active_jobs`, counted in metrics: from the first look before planning or
    /// from the store's count where the job is inserted.
    func activeJobsRefusal(group: String, active: Int) -> Refusal {
        metrics?.quotaRefused(group: group, quota: "max_active_jobs")
        return .overQuota(JobStore.StoreError.overQuota(group: group, active: active).description, retryAfter: 30)
    }

    // MARK: Read

    /// A job and its history, if the caller may see it.
    public func job(_ id: UUID, for principal: Principal) async throws -> (job: Job, transitions: [JobTransition]) {
        guard let found = try await store.jobWithTransitions(id), Self.may(principal, see: found.job) else {
            throw Refusal.notFound("no job \(id) for this token; GET /v1/jobs lists yours")
        }
        return found
    }

    /// One page of the caller's job ids, newest first (the API builds the jobs from kept representations).
    public func jobIDs(_ filter: JobStore.Filter, after cursor: JobCursor?, limit: Int, for principal: Principal) async throws -> (ids: [UUID], next: JobCursor?) {
        let page = try await store.jobIDs(try Self.visible(filter, to: principal), after: cursor.map { ($0.createdAt, $0.id) }, limit: limit)
        return (page.ids, page.next.map { JobCursor(createdAt: $0.createdAt, id: $0.id) })
    }

    /// The filter narrowed to what the caller may see: a group token may name only its own group.
    static func visible(_ filter: JobStore.Filter, to principal: Principal) throws -> JobStore.Filter {
        var filter = filter
        if case .group(let own) = principal {
            if let asked = filter.researchGroup, asked != own {
                throw Refusal.forbidden("this token acts for research group \"\(own)\" and may not list \"\(asked)\"")
            }
            filter.researchGroup = own
        }
        return filter
    }

    static func may(_ principal: Principal, see job: Job) -> Bool {
        switch principal {
        case .admin: return true
        case .group(let name): return job.researchGroup == name
        }
    }

    // MARK: Cancel

    /// Cancels a job: one never submitted is cancelled at once; a submitted one is cancelled in the
    /// scheduler and reaches `cancelled` when the reconciler sees it go.
    public func cancel(_ id: UUID, by principal: Principal, now: Date = Date()) async throws -> Job {
        var (job, _) = try await self.job(id, for: principal)
        if job.state.isTerminal {
            throw Refusal.conflict("job \(id) already ended as \(job.state.rawValue); nothing to cancel")
        }
        if job.nativeJobID == nil {
            do {
                return try await storeCall { store in
                    try store.update(id, source: "api", reason: "cancelled before submission", at: now) {
                        $0.state = .cancelled
                        $0.failureKind = FailureKind.cancelled.label
                        $0.failureReason = "the job was cancelled before it was submitted"
                        $0.finishedAt = now
                    }
                }
            } catch JobStore.StoreError.invalidTransition {
                // Submitted meanwhile: cancel it in the scheduler below.
                guard let current = try await storeCall({ try $0.job(id) }) else { throw Refusal.notFound("no job \(id)") }
                job = current
            }
        }
        guard let native = job.nativeJobID else { return job }
        guard let scheduler = submitter.schedulers[job.cluster] else {
            throw Refusal.unavailable("the service has no scheduler for cluster \(job.cluster); check the config", retryAfter: 60)
        }
        try await cancelInScheduler([NativeJobID(native)], on: scheduler)
        logger.info("cancel requested", metadata: ["job_id": "\(id.uuidString.lowercased())", "native_job_id": "\(native)"])
        return job
    }

    /// Cancels in the scheduler, waiting at most `schedulerWait`: a controller that does not answer is a
    /// 503 to retry (the call may still land; cancelling twice is harmless).
    func cancelInScheduler(_ ids: [NativeJobID], on scheduler: any BatchScheduler) async throws {
        do {
            guard try await Deadline.valueIfReady(within: schedulerWait, of: { try await scheduler.cancel(ids) }) != nil else {
                throw Refusal.unavailable("the controller did not answer the cancel within \(schedulerWait); it may still take effect. Retry later", retryAfter: 30)
            }
        } catch let error as SchedulerError where error.transient {
            throw Refusal.unavailable("the controller did not answer the cancel (\(error.detail)); retry later", retryAfter: 30)
        }
    }

    // MARK: Logs

    /// The last `lines` lines of the job's stdout and stderr (empty before it starts).
    public func logs(_ id: UUID, lines: Int, for principal: Principal) async throws -> LogTail {
        let (job, _) = try await self.job(id, for: principal)
        let files = Self.logFiles(of: job)
        return try await Self.readLogs(in: files.directory) { LogTail(stdoutPath: files.stdout, stderrPath: files.stderr, lines: lines) }
    }

    /// Where a job's scheduler writes its stdout and stderr, as it was submitted: a single job's run
    /// directory, or a run step's own directory under the run's (`steps/joint_genotype/`). An array
    /// step's logs are its tasks' (`/v1/runs/{id}/tasks/...`); its own paths name no file.
    static func logFiles(of job: Job) -> (directory: String, stdout: String, stderr: String) {
        guard let spec = try? JobSubmitter.spec(of: job) else { return ("", "", "") }
        return ((spec.stdoutPath as NSString).deletingLastPathComponent, spec.stdoutPath, spec.stderrPath)
    }

    /// How long a request waits for a log file: one on a hung mount must not hold the request forever.
    static let logReadDeadline: Duration = .seconds(5)

    /// Reads log files in `directory` on the files pool, so a hung shared filesystem holds only that
    /// pool's threads, and the caller at most `logReadDeadline`; then 503 to retry. While an earlier read
    /// there hangs, the answer is 503 at once (`LogReadGuard`), so one hung job takes one thread, not all.
    static func readLogs<T: Sendable>(in directory: String, _ read: @escaping @Sendable () throws -> T) async throws -> T {
        let guarding = LogReadGuard.shared
        if let age = guarding.hungFor(directory) {
            throw Refusal.unavailable("an earlier read of these log files has not returned for \(Int(age)) s (is the filesystem of the run directory hung?); retry later", retryAfter: 30)
        }
        do {
            return try await BlockingCallPool.files.run(deadline: logReadDeadline) {
                let token = guarding.begin(directory)
                defer { guarding.end(directory, token) }
                return try read()
            }
        } catch is BlockingCallPool.TimedOut {
            throw Refusal.unavailable("the log files did not answer within \(logReadDeadline) (is the filesystem of the run directory hung?); retry later", retryAfter: 30)
        } catch let full as BlockingCallPool.Saturated {
            throw Refusal.unavailable("the log files cannot be read now: \(full)", retryAfter: 30)
        }
    }

    // MARK: Events

    /// The caller's job transitions as Server-Sent Events: first those after `lastEventID` from the
    /// history (none without it), then live ones, with a heartbeat comment every `heartbeat`. The stream
    /// ends when the service shuts down or the client goes away. `jobID` or `runID` narrow it to one job
    /// or one run's steps (every attempt of each).
    public func eventStream(for principal: Principal, lastEventID: String?, jobID: UUID?, runID: UUID? = nil,
                            heartbeat: Duration = .seconds(15)) async throws -> AsyncStream<String> {
        if let jobID { _ = try await job(jobID, for: principal) }
        if let runID { _ = try await run(runID, for: principal) }
        guard let hub = events else { throw Refusal.unavailable("this service has no event stream", retryAfter: 60) }
        var group: String?
        if case .group(let own) = principal { group = own }
        var resumeAfter: Int64?
        if let lastEventID {
            guard let position = Int64(lastEventID.trimmingCharacters(in: .whitespaces)), position >= 0 else {
                throw Refusal.invalid([ValidationError(pointer: .root, message: "Last-Event-ID must be the id of an event this stream sent (a whole number)")])
            }
            resumeAfter = position
        }
        // Subscribe before reading the history, so nothing committed in between is missed; the
        // sequence numbers drop what both would send.
        let live = hub.subscribe(.init(group: group, jobID: jobID, runID: runID))
        let store = self.store
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(10_000))
        let forward = Task {
            continuation.yield(ServerSentEvents.retry(milliseconds: 3000))
            var last = resumeAfter
            if let resumeAfter {
                var position = resumeAfter
                while true {
                    let after = position, ownGroup = group
                    let page = (try? await store.offload { try $0.transitions(after: after, group: ownGroup, jobID: jobID, runID: runID, limit: 1000) }) ?? []
                    for summary in page { continuation.yield(ServerSentEvents.transition(summary)) }
                    guard let next = page.last?.transition.sequence else { break }
                    position = next
                    last = next
                    if page.count < 1000 { break }
                }
            }
            for await summary in live {
                if let last, let sequence = summary.transition.sequence, sequence <= last { continue }
                continuation.yield(ServerSentEvents.transition(summary))
            }
            continuation.finish()
        }
        let beat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: heartbeat)
                if Task.isCancelled { break }
                continuation.yield(ServerSentEvents.heartbeat)
            }
        }
        continuation.onTermination = { _ in
            forward.cancel()
            beat.cancel()
        }
        return stream
    }

    /// The job's log lines as Server-Sent Events: the last `lines` of each stream, then new lines as
    /// they are written (polled every `poll`), then `event: end` once the job has ended and both files
    /// are read to the end. The stream also ends when the service shuts down.
    public func logStream(_ id: UUID, lines: Int, for principal: Principal, poll: Duration = .seconds(1), heartbeat: Duration = .seconds(15)) async throws -> AsyncStream<String> {
        let (job, _) = try await self.job(id, for: principal)
        guard let hub = events else { throw Refusal.unavailable("this service has no event stream", retryAfter: 60) }
        let files = Self.logFiles(of: job)
        let directory = files.directory
        let store = self.store
        // Subscribing ties the stream to the hub's lifetime (it ends on shutdown) and wakes the loop
        // when the job changes state.
        let changes = hub.subscribe(.init(jobID: id))
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(100_000))
        func frame(_ name: String, _ line: String) -> String {
            ServerSentEvents.event(id: nil, name: name, data: JSONValue.string(line).jsonText)
        }
        let follow = Task {
            continuation.yield(ServerSentEvents.retry(milliseconds: 3000))
            // The followers start where the tail's complete lines end: a line written in between, or the
            // rest of an unterminated last line, comes from the follower, once.
            guard let tail = try? await Self.readLogs(in: directory, { LogTail(stdoutPath: files.stdout, stderrPath: files.stderr, lines: lines) }) else {
                continuation.yield(ServerSentEvents.event(id: nil, name: "error", data: JSONValue.object(["detail": .string("the log files did not answer; retry later")]).jsonText))
                continuation.finish()
                return
            }
            var followers = [("stdout", LogFollower(path: files.stdout, offset: tail.stdoutEnd)),
                             ("stderr", LogFollower(path: files.stderr, offset: tail.stderrEnd))]
            for (name, text) in [("stdout", tail.stdout), ("stderr", tail.stderr)] where !text.isEmpty {
                // The last piece is "" after a final newline, or the unterminated line the follower reads.
                for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                    continuation.yield(frame(name, String(line)))
                }
            }
            var sinceBeat = Duration.zero
            while !Task.isCancelled {
                let ended = (try? await store.offload { try $0.job(id) })?.state.isTerminal ?? true
                for index in followers.indices {
                    let follower = followers[index].1
                    // A read that does not answer (hung mount) is tried again on the next poll.
                    guard let (moved, lines) = try? await Self.readLogs(in: directory, { () -> (LogFollower, [String]) in
                        var reading = follower
                        let lines = reading.read(flush: ended)
                        return (reading, lines)
                    }) else { continue }
                    followers[index].1 = moved
                    for line in lines { continuation.yield(frame(followers[index].0, line)) }
                }
                if ended {
                    continuation.yield(ServerSentEvents.event(id: nil, name: "end", data: "{}"))
                    break
                }
                try? await Task.sleep(for: poll)
                sinceBeat += poll
                if sinceBeat >= heartbeat {
                    continuation.yield(ServerSentEvents.heartbeat)
                    sinceBeat = .zero
                }
            }
            continuation.finish()
        }
        let shutdown = Task {
            for await _ in changes {}
            // The hub closed (service shutting down), or the client left.
            follow.cancel()
            continuation.finish()
        }
        continuation.onTermination = { _ in
            follow.cancel()
            shutdown.cancel()
        }
        return stream
    }

    // MARK: Readiness

    /// One readiness check's outcome.
    public struct Check: Sendable, Equatable {
        public let ok: Bool
        public let detail: String
    }

    /// How long readiness waits for its store write: a store that takes longer is reported not ready.
    static let readinessStoreDeadline: Duration = .seconds(2)

    /// Whether the store takes writes and each cluster's controller answered the latest reconcile.
    public func readiness() async -> [String: Check] {
        var checks: [String: Check] = [:]
        do {
            try await store.offload(deadline: Self.readinessStoreDeadline) { try $0.checkWritable() }
            checks["store"] = Check(ok: true, detail: store.path)
        } catch {
            checks["store"] = Check(ok: false, detail: "the job store at \(store.path) does not take writes: \(error)")
        }
        for (name, reconciler) in reconcilers {
            let health = await reconciler.health()
            let detail: String
            if let error = health.lastError {
                detail = "the controller did not answer: \(error)"
            } else if let at = health.lastAnswerAt {
                detail = "answered \(Int(Date().timeIntervalSince(at))) s ago"
            } else {
                detail = "no reconcile cycle has run yet"
            }
            checks["cluster:\(name)"] = Check(ok: health.reachable, detail: detail)
        }
        return checks
    }
}
