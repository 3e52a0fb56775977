import Foundation
import Logging
import ServiceLifecycle

/// Keeps one cluster's jobs in step with its scheduler: one scheduler snapshot per cycle for all jobs,
/// all resulting transitions in one store transaction.
///
/// Per cycle it also recovers what a crash left: an accepted job whose scheduler job (found by the
/// hpcbridge id in its comment) exists is adopted, otherwise submitted once. Jobs the controller has
/// forgotten go through `VanishedJobResolver` (accounting, exit-code file, lost). On scheduler errors it
/// tries again one interval later (with jitter) and marks nothing failed: an outage is not a job failure.
public actor Reconciler: Service {
    public let cluster: String
    let store: JobStore
    let scheduler: any BatchScheduler
    let submitter: JobSubmitter
    let resolver: VanishedJobResolver
    let interval: Duration
    /// How old an accepted job must be before the reconciler submits it itself: younger ones are still
    /// being submitted by the request that created them.
    let submissionGrace: TimeInterval
    let metrics: BridgeMetrics?
    var logger: Logger
    private var lastSnapshot: SchedulerSnapshot?
    /// The store's last transition sequence when a full comparison last found nothing to do (no change,
    /// nothing to submit, adopt or resolve): while neither the store nor the controller has changed since,
    /// a cycle has nothing to compare.
    private var settledAtSequence: Int64?
    private var controllerHealth = ControllerHealth()
    /// The cluster's open jobs as last read, and the store's change position they were read at (see
    /// `JobStore.jobChanges`): each cycle reads only the rows written since, whichever process wrote
    /// them, and folds them in.
    private var keptOpenJobs: (byID: [UUID: Job], through: Int64)?
    /// The scheduler's configured limits as last read, and when: planning a run checks its sheet
    /// against them without a controller call on the request path.
    private var schedulerLimits: (limits: SchedulerLimits, readAt: Date)?
    /// How long limits read from the controller are trusted (an admin may reconfigure meanwhile).
    static let limitsLifetime: TimeInterval = 600

    /// What the last attempt to reach the controller showed: readiness reports it, and the API skips
    /// its immediate submission while the controller is known to be down (the reconciler submits later).
    public struct ControllerHealth: Sendable, Equatable {
        /// When the controller last answered a snapshot query.
        public var lastAnswerAt: Date?
        /// Why the latest query failed, or nil when it succeeded.
        public var lastError: String?
        /// True when the latest query was answered.
        public var reachable: Bool { lastAnswerAt != nil && lastError == nil }
        /// True when the latest query failed (before the first cycle nothing is known yet).
        public var knownDown: Bool { lastError != nil }
        public init(lastAnswerAt: Date? = nil, lastError: String? = nil) {
            self.lastAnswerAt = lastAnswerAt
            self.lastError = lastError
        }
    }

    /// When the snapshot query now in flight was sent (nil when none is).
    private var queryInFlightSince: Date?
    /// A query unanswered this long makes the controller count as down (hung) before the query fails:
    /// readiness says so, and requests stop starting calls that would only wait with it.
    public static let hungAfter: TimeInterval = 3

    /// The controller's health as the last cycle saw it, or as hung while a query has waited `hungAfter`.
    public func health(now: Date = Date()) -> ControllerHealth {
        if let since = queryInFlightSince, now.timeIntervalSince(since) >= Self.hungAfter {
            var hung = controllerHealth
            hung.lastError = "no answer to a query sent \(Int(now.timeIntervalSince(since))) s ago (the controller may be hung)"
            return hung
        }
        return controllerHealth
    }

    /// The scheduler's limits as last read (nil until the controller first answered the question).
    public func limits() -> SchedulerLimits? { schedulerLimits?.limits }

    /// Reads the scheduler's limits again when they are older than `limitsLifetime` (or never read). A
    /// failure keeps what was known: the next cycle asks again.
    public func refreshLimits(now: Date = Date()) async {
        if let known = schedulerLimits, now.timeIntervalSince(known.readAt) < Self.limitsLifetime { return }
        do {
            let limits = try await scheduler.limits()
            if limits != schedulerLimits?.limits {
                logger.info("scheduler limits read", metadata: ["cluster": "\(cluster)", "max_array_tasks": "\(limits.maxArrayTasks.map(String.init) ?? "unknown")"])
            }
            schedulerLimits = (limits, now)
        } catch {
            logger.warning("could not read the scheduler's limits; keeping the last known", metadata: ["cluster": "\(cluster)", "error": "\(error)"])
        }
    }

    /// What one cycle did.
    public struct Report: Sendable, Equatable {
        public var transitions = 0
        public var adopted = 0
        public var submitted = 0
        public var resolvedFromAccounting = 0
        public var resolvedFromExitFile = 0
        public var lost = 0
        public var requeued = 0
        /// Controller calls made for the snapshot (0 or 1).
        public var controllerCalls = 0
    }

    public init(cluster: String, store: JobStore, scheduler: any BatchScheduler, submitter: JobSubmitter,
                resolver: VanishedJobResolver = VanishedJobResolver(), interval: Duration = .seconds(10),
                submissionGrace: TimeInterval = 30, metrics: BridgeMetrics? = nil, logger: Logger = Logger(label: "hpcbridge.reconciler")) {
        self.cluster = cluster
        self.store = store
        self.scheduler = scheduler
        self.submitter = submitter
        self.resolver = resolver
        self.interval = interval
        self.submissionGrace = submissionGrace
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs cycles until graceful shutdown; a failed cycle is retried one interval later.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let delay: Duration
                do {
                    _ = try await self.cycle()
                    await self.refreshLimits()
                    delay = await self.succeeded()
                } catch is CancellationError {
                    return
                } catch {
                    delay = await self.failed(error)
                }
                // A graceful shutdown cancels the sleep; the loop condition then ends the service cleanly.
                try? await Task.sleep(for: delay)
            }
        }
    }

    private func succeeded() -> Duration {
        return interval
    }

    /// The next try comes one interval later (a little less, with jitter), not after an exponential
    /// backoff: a failed cycle is one snapshot call, the same load as a good one, so retrying at the usual
    /// pace never asks more of the controller than normal operation does, and work accepted during an
    /// outage reaches the controller within two intervals of its return (backing off to five minutes
    /// made jobs accepted during a hang wait about 50 s after it ended).
    private func failed(_ error: Error) -> Duration {
        let delay = interval.inSeconds * Double.random(in: 0.8...1.0)
        logger.warning("reconcile cycle failed; retrying", metadata: ["cluster": "\(cluster)", "error": "\(error)", "retry_in_s": "\(Int(delay))"])
        return .milliseconds(Int(delay * 1000))
    }


    /// The open jobs with `changes` folded in (read after `position`; all open jobs when it is nil): a job
    /// that finished leaves, one written since is replaced. In no particular order (jobs to submit are
    /// put in order of acceptance where they are chosen).
    private func openJobs(folding changes: (jobs: [Job], through: Int64), readAfter position: Int64?) -> [UUID: Job].Values {
        var byID = position == nil ? [:] : keptOpenJobs?.byID ?? [:]
        // Let go of the kept copy first, so the dictionary changes in place instead of being copied whole.
        keptOpenJobs = nil
        for job in changes.jobs { byID[job.id] = job.state.isTerminal ? nil : job }
        keptOpenJobs = (byID, changes.through)
        return byID.values
    }

    /// One reconciliation of every open job of the cluster, timed and counted in the metrics.
    @discardableResult
    public func cycle(now: Date = Date()) async throws -> Report {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let report = try await reconcile(now: now)
            metrics?.reconciled(cluster: cluster, report: report, seconds: (clock.now - start).inSeconds, at: Date())
            return report
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            metrics?.reconcileFailed(cluster: cluster)
            throw error
        }
    }

    private func reconcile(now: Date) async throws -> Report {
        var report = Report()
        // The store's open jobs are read while the controller answers (both wait on I/O), and only the
        // rows written since the last cycle (`keptOpenJobs`): at 10,000 open jobs, reading them all took
        // as long as the controller query. A job whose submission was recorded after the question was
        // sent may be missing from the answer; such a job is left to the next cycle below, never taken as
        // vanished. When the store has not changed since a comparison that settled everything, nothing
        // is read unless the controller's answer changed.
        // Every store call of a cycle runs on the store's threads (`JobStore.background`), never on the
        // cooperative pool, where a synchronous read could leave the service without a thread.
        let sequence = try await store.background { try $0.lastTransitionSequence() }
        let storeSettled = settledAtSequence == sequence
        // An unanswered submission counts as absent only from snapshots asked for after it ended.
        let snapshotStartedAt = Date()
        let store = self.store, cluster = self.cluster, position = keptOpenJobs?.through
        let openRead = storeSettled ? nil : Task { try await store.jobChanges(cluster: cluster, after: position) }
        let snapshot: SchedulerSnapshot
        queryInFlightSince = snapshotStartedAt
        do {
            snapshot = try await scheduler.states(changedSince: lastSnapshot?.takenAt)
            queryInFlightSince = nil
            controllerHealth = ControllerHealth(lastAnswerAt: now, lastError: nil)
        } catch {
            queryInFlightSince = nil
            controllerHealth.lastError = "\(error)"
            openRead?.cancel()
            throw error
        }
        var open = [UUID: Job]().values
        if let openRead { open = openJobs(folding: try await openRead.value, readAfter: position) }
        report.controllerCalls = 1
        if storeSettled {
            // Neither side changed since everything was settled: nothing to compare.
            if snapshot.unchanged, lastSnapshot != nil { return report }
            let position = keptOpenJobs?.through
            open = openJobs(folding: try await store.jobChanges(cluster: cluster, after: position), readAfter: position)
            // A job recorded while the controller answered could look vanished; leave it to the next cycle.
            guard try await store.background({ try $0.lastTransitionSequence() }) == sequence else {
                settledAtSequence = nil
                if !snapshot.unchanged { lastSnapshot = snapshot }
                return report
            }
        }
        // Set again at the end when this comparison leaves nothing to do.
        settledAtSequence = nil
        let jobs: [NativeJobID: SchedulerJobState]
        if snapshot.unchanged, let last = lastSnapshot {
            jobs = last.jobs
        } else {
            jobs = snapshot.jobs
            lastSnapshot = snapshot
        }
        // Scheduler jobs by the hpcbridge id in their comment, for the accepted jobs only (adoption):
        // indexing all 10,000 records of a snapshot was a third of a full cycle after the query.
        let awaitingSubmission = Set(open.lazy.filter { $0.nativeJobID == nil }.map(\.id))
        let byTag = awaitingSubmission.isEmpty ? [:] : SchedulerJobState.tagged(jobs.values, in: awaitingSubmission)

        var changes: [JobStore.Change] = []
        var vanished: [Job] = []
        var toSubmit: [Job] = []
        // Scatter steps are job arrays: their tasks are folded from this same snapshot (Reconciler+Arrays).
        let arraySteps = open.isEmpty ? [:] : try await store.background { try $0.openArraySteps(cluster: cluster) }
        let storedTasks = arraySteps.isEmpty ? [:] : try await store.background { store in
            try arraySteps.mapValues { try store.tasks(of: $0.runID, step: $0.name) }
        }
        let arrayRecords = arraySteps.isEmpty ? [:] : Dictionary(grouping: jobs.values.filter { $0.array != nil }, by: \.submissionID)
        var taskWrites: [(step: RunStep, tasks: [RunTask])] = []
        var vanishedArrays: [(job: Job, step: RunStep)] = []
        // Steps of runs a person cancelled, read only when a dependency failure can show: the snapshot
        // reports one, or a job is missing from it (accounting or an exit-code file may then report one).
        let mayShowDependencyFailure = jobs.values.contains { $0.status == .failed(.dependencyNeverSatisfied) }
            || open.contains { job in job.nativeJobID.map { jobs[NativeJobID($0)] == nil } ?? false }
        let cancelledRunSteps: Set<UUID> = mayShowDependencyFailure
            ? try await store.background { try $0.openStepsOfCancelledRuns(cluster: cluster) } : []
        func cancelledWithRun(_ seen: SchedulerJobState, of job: Job) -> SchedulerJobState {
            guard seen.status == .failed(.dependencyNeverSatisfied) else { return seen }
            return cancelledRunSteps.contains(job.id) ? Self.cancelledWithRun(seen) : seen
        }
        for job in open {
            if let step = arraySteps[job.id], let native = job.nativeJobID {
                let folded = SchedulerSnapshot.arrayTasks(of: NativeJobID(native), in: arrayRecords[NativeJobID(native)] ?? [])
                    .mapValues { cancelledWithRun($0, of: job) }
                guard !folded.isEmpty else {
                    vanishedArrays.append((job, step))
                    continue
                }
                let (updates, seen) = Self.arrayProgress(job: job, step: step, tasks: folded, stored: storedTasks[job.id] ?? [])
                taskWrites.append((step, updates))
                if let seen, let change = Self.change(for: job, seen: seen) {
                    if let started = Self.missedStart(of: job, seen: seen) { changes.append(started) }
                    changes.append(change)
                }
                continue
            }
            guard let native = job.nativeJobID else {
                let attempts = submitter.attempts
                if let found = byTag[job.id] {
                    changes.append(Self.adoption(of: job, by: found))
                    attempts.settled(job.id)
                    report.adopted += 1
                } else if now.timeIntervalSince(job.createdAt) >= submissionGrace,
                          attempts.mayResubmit(job.id, absentFromSnapshotStartedAt: snapshotStartedAt) {
                    toSubmit.append(job)
                }
                continue
            }
            if let reported = jobs[NativeJobID(native)] {
                let state = cancelledWithRun(reported, of: job)
                if let change = Self.change(for: job, seen: state) {
                    if change.isRequeue { report.requeued += 1 }
                    if let started = Self.missedStart(of: job, seen: state) { changes.append(started) }
                    changes.append(change)
                }
            } else if let recorded = job.submittedAt, recorded >= snapshotStartedAt {
                // Recorded as submitted after the question was sent: the answer need not know it yet.
                continue
            } else {
                vanished.append(job)
            }
        }

        if !vanished.isEmpty {
            let since = vanished.compactMap(\.submittedAt).min() ?? now.addingTimeInterval(-86400)
            var accounting: [NativeJobID: SchedulerJobState] = [:]
            var accountingError: String?
            do { accounting = try await scheduler.accountingStates(for: vanished.compactMap { $0.nativeJobID.map { NativeJobID($0) } }, since: since) } catch {
                accountingError = "\(error)"
            }
            // Open jobs are read without their intent; the run directory is in it.
            let vanishedIDs = vanished.map(\.id)
            let runDirectories = try await store.background { store in
                Dictionary(uniqueKeysWithValues: vanishedIDs.map { id in (id, (try? store.job(id)).flatMap { $0.flatMap(JobSubmitter.runDirectory(of:)) }) })
            }
            func exitPath(of job: Job) -> String { ((runDirectories[job.id] ?? nil) ?? "/nonexistent") + "/" + ScriptRenderer.exitCodeFile }
            let resolver = await self.resolver.readingAhead(vanished.map(exitPath(of:)))
            for job in vanished {
                let exitPath = exitPath(of: job)
                let record = job.nativeJobID.flatMap { accounting[NativeJobID($0)] }
                switch resolver.resolve(accounting: record, accountingError: accountingError, exitCodePath: exitPath, vanishedAt: job.vanishedAt ?? now, now: now) {
                case .resolved(let status, let exit, let source):
                    let seen = cancelledWithRun(SchedulerJobState(
                        id: NativeJobID(job.nativeJobID!), status: status, rawState: source, reason: "resolved from \(source)",
                        exit: exit, startTime: record?.startTime, endTime: record?.endTime ?? now, restartCount: job.requeueCount), of: job)
                    if var change = Self.change(for: job, seen: seen) {
                        change.reason = "the controller forgot the job; outcome from \(source)"
                        changes.append(change)
                    }
                    if source == "accounting" { report.resolvedFromAccounting += 1 } else { report.resolvedFromExitFile += 1 }
                case .pending:
                    if job.vanishedAt == nil {
                        changes.append(JobStore.Change(id: job.id, source: "reconciler") { $0.vanishedAt = now })
                    }
                case .lost(let reason):
                    report.lost += 1
                    changes.append(JobStore.Change(id: job.id, source: "reconciler", reason: reason) {
                        $0.state = .lost
                        $0.failureReason = reason
                        $0.finishedAt = now
                    })
                }
            }
        }

        if !vanishedArrays.isEmpty {
            let since = vanishedArrays.compactMap(\.job.submittedAt).min() ?? now.addingTimeInterval(-86400)
            var accounting: [NativeJobID: SchedulerJobState] = [:]
            var accountingError: String?
            do { accounting = try await scheduler.accountingStates(for: vanishedArrays.compactMap { $0.job.nativeJobID.map { NativeJobID($0) } }, since: since) } catch {
                accountingError = "\(error)"
            }
            for (job, step) in vanishedArrays {
                let stored = storedTasks[job.id] ?? []
                let resolver = await self.resolver.readingAhead(stored.filter { !$0.state.isTerminal }.map { Self.exitPath(of: $0, in: step) })
                let outcome = try resolveVanishedArray(job: job, step: step, stored: stored, accounting: Array(accounting.values),
                                                       accountingError: accountingError, now: now, resolver: resolver)
                if outcome.pending {
                    if job.vanishedAt == nil { changes.append(JobStore.Change(id: job.id, source: "reconciler") { $0.vanishedAt = now }) }
                    continue
                }
                taskWrites.append((step, outcome.updates))
                if let seen = outcome.seen, var change = Self.change(for: job, seen: seen) {
                    change.reason = "the controller forgot the array; its tasks' outcomes from accounting or their exit-code files"
                    changes.append(change)
                }
            }
        }

        // Before submitting an accepted job the controller does not know, ask accounting: the job may
        // have been submitted before a crash and have finished and left the controller since.
        if !toSubmit.isEmpty {
            toSubmit.sort { $0.createdAt < $1.createdAt }
            let since = toSubmit.map(\.createdAt).min()!.addingTimeInterval(-60)
            let found = try await scheduler.accountingJobs(tagged: Set(toSubmit.map(\.id)), since: since)
            toSubmit = toSubmit.filter { job in
                guard let state = found[job.id] else { return true }
                changes.append(Self.adoption(of: job, by: state))
                report.adopted += 1
                return false
            }
        }

        // Read without scripts: a batch can touch every open job (a mass cancel), and whole rows held
        // 6.5 KB each until the transaction ended (65 MB for 10,000 jobs, heaptrack).
        // Tasks first, so a reader who sees the step's new state sees its tasks' too.
        let writes = taskWrites, batch = changes
        report.transitions = try await store.background { store in
            for (step, tasks) in writes { try store.updateTasks(of: step.runID, step: step.name, tasks) }
            return try store.apply(batch, at: now, reading: .withoutScripts).count
        }
        // What the controller lists, for the steps of runs among the jobs to submit (built only then: a
        // set of every listed job cost a few milliseconds of each 10,000-job cycle).
        let listed = toSubmit.isEmpty ? [] : Set(jobs.values.map(\.submissionID))
        for job in toSubmit {
            // A step of a run waits for the steps it needs, and depends only on jobs the controller lists.
            let id = job.id
            if let step = try await store.background({ try $0.step(ofJob: id) }) {
                let after = try await RunSubmitter(jobs: submitter).submitReadySteps(of: step.runID, known: { listed.contains($0) }, source: "recovery")
                if after.first(where: { $0.job.id == job.id })?.job.nativeJobID != nil { report.submitted += 1 }
                continue
            }
            // Open jobs are read without their intent; the submission needs it.
            let after = try await submitter.submit(try await store.background { try $0.job(id) } ?? job, source: "recovery")
            if after.nativeJobID != nil { report.submitted += 1 }
        }
        // Settled: nothing changed, nothing vanished, and no accepted job waits for its grace to pass.
        if changes.isEmpty, vanished.isEmpty, vanishedArrays.isEmpty, toSubmit.isEmpty, taskWrites.allSatisfy(\.tasks.isEmpty),
           !open.contains(where: { $0.nativeJobID == nil }) {
            settledAtSequence = sequence
        }
        return report
    }

    /// A step the scheduler ended because a step it waited on was cancelled with the run: cancelled, as
    /// the person asked, not failed.
    static func cancelledWithRun(_ seen: SchedulerJobState) -> SchedulerJobState {
        var cancelled = seen
        cancelled.status = .failed(.cancelled)
        cancelled.reason = "the run was cancelled" + (seen.reason.map { " (\($0))" } ?? "")
        return cancelled
    }

    /// An accepted job found in the scheduler by its id: record the native id and its current state.
    static func adoption(of job: Job, by state: SchedulerJobState) -> JobStore.Change {
        var change = JobStore.Change(id: job.id, source: "recovery", reason: "adopted scheduler job \(state.submissionID), found by its hpcbridge id") { _ in }
        let update = Self.change(for: job, seen: state)
        change.apply = { job in
            job.nativeJobID = state.submissionID.rawValue
            job.submittedAt = job.submittedAt ?? state.submitTime
            update?.apply(&job)
        }
        return change
    }

    /// The change that brings a stored job to what the scheduler reports, or nil when nothing changed.
    static func change(for job: Job, seen: SchedulerJobState) -> JobStore.Change? {
        let (state, failure) = JobState.from(seen.status)
        let requeued = seen.restartCount > job.requeueCount
        // A report that would move the job backwards (a stale snapshot) is ignored.
        let target = state == job.state || job.state.canMove(to: state, isRequeue: requeued) ? state : job.state
        let startedAt = seen.status.hasStarted ? (seen.startTime ?? job.startedAt) : job.startedAt
        let finishedAt = target.isTerminal ? (seen.endTime ?? job.finishedAt) : job.finishedAt
        let exitCode = target.isTerminal ? seen.exit?.code : job.exitCode
        let exitSignal = target.isTerminal ? seen.exit.map(\.signal).flatMap { $0 == 0 ? nil : $0 } : job.exitSignal
        let failureKind = target == .failed || target == .cancelled ? failure?.label : job.failureKind
        let failureReason = target == .failed || target == .cancelled ? Self.describe(failure, seen) : job.failureReason
        let unchanged = target == job.state && !requeued && startedAt == job.startedAt && finishedAt == job.finishedAt
            && exitCode == job.exitCode && exitSignal == job.exitSignal && failureKind == job.failureKind && job.vanishedAt == nil
        if unchanged { return nil }
        let restartCount = seen.restartCount
        let reason = target != job.state ? "\(seen.rawState)\(seen.reason.map { " (\($0))" } ?? "")" : (requeued ? "requeued by the scheduler" : nil)
        return JobStore.Change(id: job.id, source: "reconciler", reason: reason, isRequeue: requeued) { job in
            job.state = target
            job.startedAt = startedAt
            job.finishedAt = finishedAt
            job.exitCode = exitCode
            job.exitSignal = exitSignal
            job.failureKind = failureKind
            job.failureReason = failureReason
            job.requeueCount = max(job.requeueCount, restartCount)
            job.vanishedAt = nil
        }
    }

    /// A job that started and ended between two cycles would go from queued straight to its end; this
    /// records the start it had, at the scheduler's start time, so the history says when it ran.
    static func missedStart(of job: Job, seen: SchedulerJobState) -> JobStore.Change? {
        guard job.state == .queued || job.state == .held, seen.status.isTerminal, let start = seen.startTime else { return nil }
        // An exit status means the script ran, however briefly (Slurm's times have one-second steps).
        // Otherwise (cancelled while pending, launch or node failure) it ran only if time passed: Slurm
        // gives a job that never ran a start time equal to its end.
        let ran: Bool
        switch seen.status {
        case .completed, .failed(.nonZeroExit), .failed(.signal), .failed(.timeout), .failed(.outOfMemory): ran = true
        default: ran = seen.endTime.map { $0 > start } ?? false
        }
        guard ran else { return nil }
        return JobStore.Change(id: job.id, source: "reconciler", reason: "started (seen after it had ended)", at: start) { job in
            job.state = .running
            job.startedAt = start
        }
    }

    /// A failure in words a user can act on.
    static func describe(_ failure: FailureKind?, _ seen: SchedulerJobState) -> String? {
        guard let failure else { return nil }
        switch failure {
        case .nonZeroExit(let code): return "the pipeline exited with status \(code); see the job's stderr log"
        case .signal(let n): return "the pipeline was killed by signal \(n)"
        case .timeout: return "the job reached its time limit; ask for a longer time_limit"
        case .outOfMemory: return "the job ran out of memory; ask for more memory"
        case .nodeFailure: return "the node running the job failed; resubmit"
        case .bootFailure: return "the node could not boot for the job; resubmit"
        case .deadline: return "the job passed its deadline"
        case .preempted: return "the job was preempted by higher-priority work; resubmit"
        case .launchFailure: return "the scheduler could not launch the job\(seen.reason.map { " (\($0))" } ?? "")"
        case .cancelled: return "the job was cancelled"
        case .dependencyNeverSatisfied:
            return "the scheduler cancelled the job because a job it depends on failed, so it could never start; see the failed step"
        }
    }
}
