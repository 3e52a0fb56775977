import Foundation

/// What the API does with runs, for one caller at a time, under the same rules as single jobs: a group
/// sees and changes only its own runs (another group's run answers as a missing one), submissions count
/// against the group's rate, and a run larger than the group's `max_active_jobs` is throttled (its
/// arrays' `%` limit), not refused.
extension JobService {
    /// A run with its steps and how many tasks of each step are in each state: what `GET /v1/runs/{id}` shows.
    public struct RunView: Sendable {
        public let run: Run
        public let steps: [(step: RunStep, job: Job)]
        public let taskCounts: [String: [JobState: Int]]

        /// Where the run stands, derived from its steps.
        public var state: JobState { Run.state(of: steps.map(\.job.state)) }
        /// When the last step ended, once every step has.
        public var finishedAt: Date? {
            steps.allSatisfy(\.job.state.isTerminal) ? steps.compactMap(\.job.finishedAt).max() : nil
        }
        /// Rows of the sample sheet.
        public var sampleCount: Int { steps.compactMap(\.step.taskCount).max() ?? 0 }
    }

    var runs: RunSubmitter { RunSubmitter(jobs: submitter) }

    /// Accepts a run for the caller and, when the controller is answering, submits its steps at once;
    /// with the controller down it stays accepted and the reconciler submits it later.
    public func submitRun(_ request: RunRequest, by principal: Principal, idempotencyKey: String?, now: Date = Date()) async throws -> (run: RunView, created: Bool) {
        let groupName = request.base.researchGroup
        if case .group(let own) = principal, groupName != own {
            throw Refusal.forbidden("this token acts for research group \"\(own)\"; a request may only name its own group, not \"\(groupName)\"")
        }
        let group = site.config.groups[groupName]
        if let group, let wait = rateLimiter.admit(group: group.name, perMinute: group.submissionsPerMinute, now: now) {
            metrics?.quotaRefused(group: group.name, quota: "submissions_per_minute")
            throw Refusal.overQuota("research group \"\(group.name)\" may submit \(group.submissionsPerMinute) jobs or runs per minute; retry in \(wait) s", retryAfter: wait)
        }
        let accepted: (run: Run, created: Bool)
        // The cluster's limits as the reconciler last read them: no controller call on the request path.
        let limits = await group.flatMap { reconcilers[$0.cluster] }?.limits()
        do {
            let runs = self.runs, activeLimit = group?.maxActiveJobs
            accepted = try await refusingInTheAPIsTerms {
                try await storeCall { _ in try runs.accept(request, idempotencyKey: idempotencyKey, activeLimit: activeLimit, limits: limits, now: now) }
            }
        } catch {
            rateLimiter.refund(group: groupName)
            if case Refusal.invalid = error { metrics?.validationRejected(group: groupName, pipeline: request.base.pipelineName) }
            throw error
        }
        if !accepted.created { rateLimiter.refund(group: groupName) }
        if accepted.created {
            if let reconciler = reconcilers[accepted.run.cluster], await reconciler.health().knownDown {
                logger.info("controller unreachable; the run stays accepted until the reconciler submits it", metadata: ["run_id": "\(accepted.run.id.uuidString.lowercased())"])
            } else {
                do {
                    let runs = self.runs, id = accepted.run.id
                    if try await Deadline.valueIfReady(within: schedulerWait, of: { try await runs.submitReadySteps(of: id) }) == nil {
                        logger.info("the controller did not answer within \(schedulerWait); the run is accepted and its submission goes on", metadata: ["run_id": "\(id.uuidString.lowercased())"])
                    }
                } catch {
                    // The run is durable as accepted; the reconciler retries. The caller still gets its 201.
                    logger.error("immediate submission of a run failed; the reconciler will retry", metadata: ["run_id": "\(accepted.run.id.uuidString.lowercased())", "error": "\(error)"])
                }
            }
        }
        return (try await runView(of: accepted.run), accepted.created)
    }

    private func runView(of run: Run) async throws -> RunView {
        try await storeCall { try Self.view(of: run, in: $0) }
    }

    /// A run with its steps and task counts, read from the store (on the caller's thread).
    private static func view(of run: Run, in store: JobStore) throws -> RunView {
        RunView(run: run, steps: try store.steps(of: run.id), taskCounts: try store.taskCounts(of: run.id))
    }

    /// A run, if the caller may see it.
    public func run(_ id: UUID, for principal: Principal) async throws -> RunView {
        let view = try await storeCall { store -> RunView? in
            guard let run = try store.run(id), Self.may(principal, seeGroup: run.researchGroup) else { return nil }
            return try Self.view(of: run, in: store)
        }
        guard let view else { throw Refusal.notFound("no run \(id) for this token; GET /v1/runs lists yours") }
        return view
    }

    /// One page of the caller's runs, newest first. A group token may name only its own group.
    public func runs(_ filter: JobStore.RunFilter, after cursor: JobCursor?, limit: Int, for principal: Principal) async throws -> (runs: [RunView], next: JobCursor?) {
        var filter = filter
        if case .group(let own) = principal {
            if let asked = filter.researchGroup, asked != own {
                throw Refusal.forbidden("this token acts for research group \"\(own)\" and may not list \"\(asked)\"")
            }
            filter.researchGroup = own
        }
        let visible = filter
        return try await storeCall { store in
            let page = try store.runs(visible, after: cursor.map { ($0.createdAt, $0.id) }, limit: limit)
            let views = try page.runs.map { RunView(run: $0.run, steps: $0.steps, taskCounts: try store.taskCounts(of: $0.run.id)) }
            return (views, page.next.map { JobCursor(createdAt: $0.createdAt, id: $0.id) })
        }
    }

    /// The tasks of a run the caller may see, optionally of one step or some states.
    public func tasks(ofRun id: UUID, step: String?, states: [JobState]?, for principal: Principal) async throws -> (view: RunView, tasks: [RunTask]) {
        let view = try await run(id, for: principal)
        return (view, try await storeCall { try $0.tasks(of: id, step: step, states: states) })
    }

    /// The last `lines` lines of one array task's stdout and stderr (empty before it starts).
    public func taskLogs(ofRun id: UUID, step name: String, index: Int, lines: Int, for principal: Principal) async throws -> LogTail {
        let view = try await run(id, for: principal)
        guard let step = view.steps.first(where: { $0.step.name == name })?.step, let count = step.taskCount, (0..<count).contains(index) else {
            throw Refusal.notFound("run \(id) has no task \(name)/\(index); GET /v1/runs/\(id)/tasks lists them")
        }
        let base = "\(step.directory)/tasks/\(index)"
        return try await Self.readLogs(in: step.directory) { LogTail(stdoutPath: base + ".stdout.log", stderrPath: base + ".stderr.log", lines: lines) }
    }

    /// The last `lines` lines of the stdout and stderr of a step that runs as one job (empty before it starts).
    public func stepLogs(ofRun id: UUID, step name: String, lines: Int, for principal: Principal) async throws -> LogTail {
        let view = try await run(id, for: principal)
        guard let step = view.steps.first(where: { $0.step.name == name })?.step, step.taskCount == nil else {
            throw Refusal.notFound("run \(id) has no step \(name) that runs as one job; GET /v1/runs/\(id) lists its steps")
        }
        let directory = step.directory
        return try await Self.readLogs(in: directory) { LogTail(directory: directory, lines: lines) }
    }

    /// Cancels every step of a run that has not ended, with one scheduler call for the whole run. A step
    /// never submitted is cancelled in the store at once, with its tasks. Of the submitted ones only the
    /// first (those not waiting on another open step) are named to the scheduler: every later step was
    /// submitted with `afterok` on them and KILL_INV_DEP, so the scheduler ends it itself, and the
    /// reconciler records it as cancelled because the run's cancellation is on record before the call.
    public func cancelRun(_ id: UUID, by principal: Principal, now: Date = Date()) async throws -> RunView {
        let view = try await run(id, for: principal)
        guard view.steps.contains(where: { !$0.job.state.isTerminal }) else {
            throw Refusal.conflict("run \(id) already ended as \(view.state.rawValue); nothing to cancel")
        }
        let steps = view.steps
        let first = try await storeCall { store in
            try store.requestCancel(of: id, at: now)
            for (step, job) in steps where job.state == .accepted && job.nativeJobID == nil {
                do {
                    try store.update(job.id, source: "api", reason: "cancelled with its run before it was submitted", at: now) {
                        $0.state = .cancelled
                        $0.failureKind = FailureKind.cancelled.label
                        $0.failureReason = "the run was cancelled before this step was submitted"
                        $0.finishedAt = now
                    }
                } catch JobStore.StoreError.invalidTransition {
                    continue  // Submitted meanwhile: cancelled in the scheduler below.
                }
                if let count = step.taskCount {
                    try store.updateTasks(of: id, step: step.name, (0..<count).map { index in
                        var task = RunTask(runID: id, step: step.name, index: index, sampleID: "", state: .cancelled)
                        task.failureKind = FailureKind.cancelled.label
                        task.finishedAt = now
                        return task
                    })
                }
            }
            return Self.stepsToCancel(try store.steps(of: id))
        }
        guard !first.isEmpty else { return try await runView(of: view.run) }
        guard let scheduler = submitter.schedulers[view.run.cluster] else {
            throw Refusal.unavailable("the service has no scheduler for cluster \(view.run.cluster); check the config", retryAfter: 60)
        }
        try await cancelInScheduler(first, on: scheduler)
        logger.info("run cancel requested", metadata: ["run_id": "\(id.uuidString.lowercased())", "native_job_ids": "\(first.map(\.rawValue).joined(separator: ","))"])
        return try await runView(of: view.run)
    }

    /// The scheduler ids to cancel so that every open submitted step ends: those of the open submitted
    /// steps that need no other open submitted step (the others depend on them inside the scheduler).
    static func stepsToCancel(_ steps: [(step: RunStep, job: Job)]) -> [NativeJobID] {
        let open = steps.filter { !$0.job.state.isTerminal && $0.job.nativeJobID != nil }
        let openNames = Set(open.map(\.step.name))
        return open.filter { $0.step.needs.allSatisfy { !openNames.contains($0) } }.compactMap { $0.job.nativeJobID.map { NativeJobID($0) } }
    }

    /// Resumes an ended run: what did not complete runs again (only the failed or cancelled tasks of a
    /// scatter step, and every step downstream), completed work and its outputs are kept. The new
    /// attempts are submitted at once when the controller answers, else by the reconciler.
    public func resumeRun(_ id: UUID, by principal: Principal, now: Date = Date()) async throws -> RunView {
        let view = try await run(id, for: principal)
        let resumed: [String]
        do {
            let runs = self.runs
            resumed = try await storeCall { _ in try runs.resume(id, now: now) }
        } catch let refusal as RunSubmitter.ResumeRefusal {
            throw Refusal.conflict("run \(id): \(refusal)")
        } catch JobStore.StoreError.notFound {
            throw Refusal.conflict("run \(id) was resumed by another request meanwhile; GET it to see the new attempt")
        }
        logger.info("run resumed", metadata: ["run_id": "\(id.uuidString.lowercased())", "steps": "\(resumed.joined(separator: ","))"])
        if let reconciler = reconcilers[view.run.cluster], await reconciler.health().knownDown {
            return try await runView(of: view.run)
        }
        do {
            let runs = self.runs
            _ = try await Deadline.valueIfReady(within: schedulerWait) { try await runs.submitReadySteps(of: id) }
        } catch {
            logger.error("immediate submission of a resumed run failed; the reconciler will retry", metadata: ["run_id": "\(id.uuidString.lowercased())", "error": "\(error)"])
        }
        return try await runView(of: view.run)
    }

    public static func may(_ principal: Principal, seeGroup group: String) -> Bool {
        switch principal {
        case .admin: return true
        case .group(let name): return group == name
        }
    }
}
