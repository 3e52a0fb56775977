import Crypto
import Foundation
import Logging
import Synchronization

/// Accepts requests and submits them, in the order that makes a crash harmless: the job is durable as
/// `accepted`, with everything needed to submit it (its intent), before the scheduler is called.
///
/// A crash after the insert leaves an accepted job; on restart the reconciler adopts the scheduler job
/// carrying its id, or submits it once. When the controller is down the job simply stays accepted and
/// is submitted later: an outage never fails a job.
public struct JobSubmitter: Sendable {
    /// The site now (a reload may swap it; read it once per request).
    public var site: Site { siteHolder.current }
    public let siteHolder: SiteHolder
    public let store: JobStore
    public let schedulers: [String: any BatchScheduler]
    /// Calls whose outcome is not known yet (shared with the reconciler through this submitter).
    public let attempts = SubmissionAttempts()
    public var logger: Logger
    /// How input paths' symbolic links are resolved (a seam for tests of a hung filesystem).
    var resolver: InputRoots.Resolver = InputRoots.resolveExistingPrefix
    /// How long a submission waits for its planning (`BlockingCallPool.planning`): a hung input
    /// filesystem answers 503 then, as a hung store does.
    var planningDeadline: Duration = .seconds(10)

    public init(site: Site, store: JobStore, schedulers: [String: any BatchScheduler], logger: Logger = Logger(label: "hpcbridge.submitter")) {
        self.init(siteHolder: SiteHolder(site), store: store, schedulers: schedulers, logger: logger)
    }

    public init(siteHolder: SiteHolder, store: JobStore, schedulers: [String: any BatchScheduler], logger: Logger = Logger(label: "hpcbridge.submitter")) {
        self.siteHolder = siteHolder
        self.store = store
        self.schedulers = schedulers
        self.logger = logger
    }

    /// Validates, renders and stores a request as `accepted`. With an idempotency key, a retry of the
    /// same request returns the job of the first attempt (`created` is false then).
    public func accept(_ request: JobRequest, idempotencyKey: String? = nil, now: Date = Date()) async throws -> (job: Job, created: Bool) {
        let accepted = try await acceptAndPlan(request, idempotencyKey: idempotencyKey, now: now)
        return (accepted.job, accepted.created)
    }

    /// What `acceptAndPlan` stored.
    struct Accepted: Sendable {
        var job: Job
        var created: Bool
        /// The spec just rendered when the job was created, so an immediate submission need not decode
        /// the stored intent again (a retry's job keeps its own stored intent).
        var spec: BatchJobSpec?
        /// The creation of the new job's run directory, started when the plan was ready.
        var directory: PendingCall<Void>?
    }

    /// The refusal of a request whose plan passed its deadline (a hung input filesystem).
    static func planningTookTooLong(_ deadline: Duration) -> JobService.Refusal {
        .unavailable("checking the request's input paths took over \(deadline) (is an input filesystem hung?); retry later", retryAfter: 30)
    }

    /// What a request becomes before its insert.
    private struct Prepared: Sendable {
        var job: Job
        var spec: BatchJobSpec
        var requestHash: String
        var directory: PendingCall<Void>
    }

    /// `accept`, in a transaction shared with concurrent submissions (`JobStore.insertInGroupCommit`).
    ///
    /// Planning checks input paths with their symbolic links resolved on this host, which reads the
    /// input filesystem, so it runs on the planning pool, with the rendering; the run directory's
    /// creation starts there as soon as the plan holds, on the files pool, and goes on while the insert
    /// commits (removed again if the request turns out to be a retry or is refused at the insert).
    func acceptAndPlan(_ request: JobRequest, idempotencyKey: String? = nil, activeLimit: Int? = nil, now: Date = Date()) async throws -> Accepted {
        let site = self.site, resolver = self.resolver
        let directory = PlannedDirectory()
        let prepared: Prepared
        do {
            prepared = try await BlockingCallPool.planning.run(deadline: planningDeadline) {
                try Self.prepare(request, site: site, resolver: resolver, now: now, directory: directory)
            }
        } catch let timedOut as BlockingCallPool.TimedOut {
            // The plan may still finish on its thread: it then makes no directory, or this removes it.
            if let started = directory.abandon() { Self.removeUnused(started.creation, at: started.path) }
            throw Self.planningTookTooLong(timedOut.deadline)
        } catch let full as BlockingCallPool.Saturated {
            throw JobService.Refusal.unavailable("the request cannot be checked now: \(full)", retryAfter: 30)
        }
        let stored: JobStore.Insertion
        do {
            stored = try await store.insertInGroupCommit(prepared.job, idempotencyKey: idempotencyKey, requestHash: prepared.requestHash, activeLimit: activeLimit)
        } catch {
            Self.removeUnused(prepared.directory, at: prepared.spec.workingDirectory)
            throw error
        }
        switch stored {
        case .created(let job): return Accepted(job: job, created: true, spec: prepared.spec, directory: prepared.directory)
        case .existing(let job):
            Self.removeUnused(prepared.directory, at: prepared.spec.workingDirectory)
            return Accepted(job: job, created: false)
        }
    }

    /// Plans and renders a request into the job to insert, and starts its run directory (unless the
    /// request was given up meanwhile).
    private static func prepare(_ request: JobRequest, site: Site, resolver: @escaping InputRoots.Resolver, now: Date,
                                directory: PlannedDirectory) throws -> Prepared {
        let planned = try plan(request, site: site, resolver: resolver, now: now)
        guard let creation = directory.start(planned.spec.workingDirectory) else { throw CancellationError() }
        return Prepared(job: planned.job, spec: planned.spec, requestHash: planned.requestHash, directory: creation)
    }

    /// What a request becomes before its insert: the job with its intent, the spec, and the request's
    /// identity for idempotency.
    struct Planned: Sendable {
        var job: Job
        var spec: BatchJobSpec
        var requestHash: String
    }

    /// Plans, validates and renders a request (reads the input filesystem: call it on a blocking pool).
    static func plan(_ request: JobRequest, site: Site, resolver: @escaping InputRoots.Resolver, now: Date) throws -> Planned {
        let id = UUID()
        let plan = try JobPlanner(site: site, resolver: resolver).plan(request, jobID: id)
        let rendered = try site.renderer.render(plan)
        let spec = BatchJobSpec(rendered, group: plan.group)
        let intent = try spec.storedJSON()
        let digest = SHA256.hash(data: Data(rendered.text.utf8)).hexString
        let job = Job(id: id, pipelineName: plan.pipeline.name, pipelineVersion: plan.pipeline.version,
                      parametersJSON: plan.parameters.jsonText, researchGroup: plan.group.name, description: request.description,
                      cluster: plan.group.cluster, createdAt: now, scriptDigest: digest, intentJSON: intent)
        // The request's identity for idempotency: what was asked, not when.
        let requestHash = SHA256.hash(data: Data(JSONValue.object([
            "pipeline_name": .string(request.pipelineName), "research_group": .string(request.researchGroup),
            "parameters": request.parameters, "description": request.description.map(JSONValue.string) ?? .null,
            "resources": request.resources ?? .null,
        ]).jsonText.utf8)).hexString
        return Planned(job: job, spec: spec, requestHash: requestHash)
    }

    /// A plan's run directory, between the planning thread that starts it and the request that may give
    /// the plan up at its deadline (a hung input filesystem): once given up, the plan starts no directory,
    /// and one it started just before is handed back to be removed. Without this, a plan that finished
    /// after its deadline left an empty run directory behind.
    final class PlannedDirectory: Sendable {
        private let state = Mutex<(abandoned: Bool, started: (creation: PendingCall<Void>, path: String)?)>((false, nil))

        /// Starts making `path` on the files pool, unless the request was given up (nil then).
        func start(_ path: String) -> PendingCall<Void>? {
            state.withLock { state in
                guard !state.abandoned else { return nil }
                let creation = BlockingCallPool.files.start { try JobSubmitter.makeDirectory(path) }
                state.started = (creation, path)
                return creation
            }
        }

        /// Gives the request up; returns the directory the plan started, if it did.
        func abandon() -> (creation: PendingCall<Void>, path: String)? {
            state.withLock { state in
                state.abandoned = true
                return state.started
            }
        }
    }

    /// Removes a run directory made for a job that was not inserted, once its creation has ended
    /// (rmdir(2): only while it is still empty).
    private static func removeUnused(_ creation: PendingCall<Void>, at path: String) {
        Task {
            guard (try? await creation.value(deadline: .seconds(30))) != nil else { return }
            _ = BlockingCallPool.files.start { _ = rmdir(path) }
        }
    }

    /// The job's run directory (where its logs and exit-code file are), from the spec it was accepted with.
    public static func runDirectory(of job: Job) -> String? {
        (try? spec(of: job))?.workingDirectory
    }

    /// The spec a job was accepted with.
    public static func spec(of job: Job) throws -> BatchJobSpec {
        try JSONDecoder().decode(BatchJobSpec.self, from: Data(job.intentJSON.utf8))
    }

    /// Submits an accepted job once. A transient scheduler error leaves it accepted (the reconciler
    /// retries); a refusal fails it with the scheduler's words. `spec` is the job's intent when the
    /// caller already has it (just accepted); otherwise it is read from the stored job.
    @discardableResult
    public func submit(_ job: Job, spec knownSpec: BatchJobSpec? = nil, directory creation: PendingCall<Void>? = nil, source: String = "submitter",
                       now: @Sendable () -> Date = Date.init) async throws -> Job {
        guard job.state == .accepted, job.nativeJobID == nil else { return job }
        let id = job.id
        guard let scheduler = schedulers[job.cluster] else {
            return try await store.offload { store in
                try store.update(id, source: source, reason: "no scheduler for cluster \(job.cluster)") {
                    $0.state = .failed
                    $0.failureKind = FailureKind.launchFailure.label
                    $0.failureReason = "the service has no scheduler for cluster \($0.cluster); check the config"
                }
            }
        }
        let spec = try knownSpec ?? Self.spec(of: job)
        guard attempts.begin(job.id) else { return job }
        do {
            // The run directory may be on a shared filesystem that hangs: created on the pool's threads.
            // (Usually started when the job was planned, and made by now.)
            if let creation {
                try await creation.value(deadline: .seconds(30))
            } else {
                let directory = spec.workingDirectory
                try await BlockingCallPool.files.run(deadline: .seconds(30)) { try Self.makeDirectory(directory) }
            }
        } catch {
            attempts.answered(job.id)
            logger.warning("submission deferred: the run directory could not be created", metadata: ["job_id": "\(job.id.uuidString.lowercased())", "error": "\(error)"])
            return job
        }
        do {
            let native: NativeJobID
            do {
                native = try await scheduler.submit(spec)
                attempts.answered(job.id)
            } catch let error as SchedulerError where error.kind == .timeout {
                // Sent, but no answer: the controller may have it. See SubmissionAttempts.
                attempts.unanswered(job.id, at: now())
                throw error
            } catch {
                attempts.answered(job.id)
                throw error
            }
            let recorded = try await store.recordSubmissionInGroupCommit(job.id, native: native.rawValue, source: source,
                                                                          reason: "submitted as \(native) via \(scheduler.path)", at: now())
            switch recorded {
            case .recorded(let job), .alreadyRecorded(let job):
                return job
            case .surplus(let current):
                // Cancelled (or adopted elsewhere) while the scheduler call ran: this submission must not run.
                logger.warning("cancelling a surplus scheduler job", metadata: ["job_id": "\(job.id.uuidString.lowercased())", "native_job_id": "\(native)", "state": "\(current.state.rawValue)"])
                try? await scheduler.cancel(native)
                return current
            }
        } catch let error as SchedulerError where error.transient {
            logger.warning("submission deferred: the scheduler is unavailable", metadata: ["job_id": "\(job.id.uuidString.lowercased())", "error": "\(error)"])
            return job
        } catch let error as SchedulerError {
            let finishedAt = now()
            return try await store.offload { store in try Self.recordRefusal(error, of: id, source: source, at: finishedAt, in: store) }
        }
    }

    /// Fails a job the scheduler refused, with the scheduler's words.
    static func recordRefusal(_ error: SchedulerError, of id: UUID, source: String, at finishedAt: Date, in store: JobStore) throws -> Job {
        try store.update(id, source: source, reason: error.detail, at: finishedAt) {
            $0.state = .failed
            $0.failureKind = FailureKind.launchFailure.label
            $0.failureReason = "the scheduler refused the job: \(error.detail)"
            $0.finishedAt = finishedAt
        }
    }

    /// Creates a run directory: one mkdir(2) when its parent exists (the run root, after the first job),
    /// else FileManager's, which walks and creates every missing level.
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) == 0 { return }
        let error = errno
        if error == EEXIST {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
}
