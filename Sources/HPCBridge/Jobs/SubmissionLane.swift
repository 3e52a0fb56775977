import Foundation
import Logging
import Synchronization

/// One API submission run in a row on one thread meant for blocking work: plan and render, the insert
/// (waiting for its shared commit), the run directory, the libslurm call, its record and the job's
/// history for the answer. The caller is resumed once, with whatever is known at that moment.
///
/// Why: done stage by stage with `await`, a submission went back to Swift's cooperative pool between
/// every blocking stage (plan, insert, directory, scheduler call, record, read): about 27 context
/// switches per request, and the scheduler and futex work behind them were a sixth of the service's
/// CPU per submission (BENCHMARKS.md, issue 15). In a row, the thread waits for the writer twice and
/// nothing else.
///
/// What a hang costs stays bounded, as on the staged path:
/// - a hung input filesystem or store: the caller is answered 503 at `planningDeadline` (unless its
///   insert has begun: then it waits for the commit, as the staged path did, so a 503 never hides a
///   stored job); a plan that finishes later stores nothing;
/// - a hung controller: the caller is answered at `schedulerWait` with the job accepted, and the call
///   goes on and is recorded when the controller answers (`SubmissionAttempts` keeps the reconciler
///   from submitting it again). At most `inlineSchedulerCalls` lanes wait inside the scheduler; past
///   that, a lane hands its job back to the staged path (the scheduler's own pool), so a hung
///   controller never holds the lanes that plan and insert the next submissions.
struct SubmissionLane: Sendable {
    let submitter: JobSubmitter
    /// How long the caller waits for the scheduler once the job is stored.
    let schedulerWait: Duration
    var logger: Logger { submitter.logger }

    /// Lanes inside a scheduler call at once, at most (half of `BlockingCallPool.submissions`).
    static let inlineSchedulerCalls = 8
    private static let inScheduler = Mutex(0)

    /// What the caller learns.
    enum Outcome: Sendable {
        /// All done on the lane: the job as stored now (queued, failed, or still accepted after a
        /// transient refusal) and its history.
        case answered(Job, transitions: [JobTransition])
        /// A retry of an earlier request with the same idempotency key: its job, as it is.
        case retried(Job)
        /// Stored; its scheduler call was not over within `schedulerWait` and goes on.
        case stillSubmitting(Job)
        /// Stored and not submitted here (no blocking submission for this backend, or every inline
        /// slot is taken): the caller submits it on the staged path, with `spec`.
        case handedBack(Job, spec: BatchJobSpec)
    }

    /// Where the lane is, for the planning deadline: before the insert the caller may be answered 503
    /// and the lane then stores nothing; once the insert began, the caller waits for its commit.
    private enum Stage { case planning, inserting, givenUp }

    /// Runs the submission on a lane; `submitNow` false (the controller is known down) stores the job
    /// and answers without calling the scheduler. Throws the planner's and the store's refusals as they
    /// are (the caller puts them in the API's terms), and `JobService.Refusal.unavailable` for a
    /// deadline or a full pool.
    func run(_ request: JobRequest, idempotencyKey: String?, activeLimit: Int?, submitNow: Bool, now: Date) async throws -> Outcome {
        let race = ResumeOnce<Outcome>()
        let stage = Mutex(Stage.planning)
        let deadline = submitter.planningDeadline
        return try await withCheckedThrowingContinuation { continuation in
            race.start(continuation)
            let planningTimer = DeadlineTimer.shared.schedule(after: deadline) {
                let gaveUp = stage.withLock { stage -> Bool in
                    guard stage == .planning else { return false }
                    stage = .givenUp
                    return true
                }
                if gaveUp {
                    race.finish(.failure(JobSubmitter.planningTookTooLong(deadline)))
                }
            }
            let queued = BlockingCallPool.submissions.enqueue { active in
                guard active else {
                    planningTimer.cancel()
                    race.finish(.failure(CancellationError()))
                    return
                }
                let beganInsert: () -> Bool = {
                    stage.withLock { stage in
                        guard stage == .planning else { return false }
                        stage = .inserting
                        return true
                    }
                }
                let result = Result { try submitInRow(request, idempotencyKey: idempotencyKey, activeLimit: activeLimit, submitNow: submitNow,
                                                      now: now, beganInsert: beganInsert, stored: { planningTimer.cancel() }, race: race) }
                planningTimer.cancel()
                switch result {
                case .success(let outcome?): race.finish(.success(outcome))
                case .success(nil): break
                case .failure(let error): race.finish(.failure(error))
                }
            }
            if !queued {
                planningTimer.cancel()
                let full = BlockingCallPool.Saturated(pool: BlockingCallPool.submissions.name, inFlight: BlockingCallPool.submissions.maximumInFlight)
                race.finish(.failure(JobService.Refusal.unavailable("the request cannot be checked now: \(full)", retryAfter: 30)))
            }
        }
    }

    /// The lane itself, on its thread. Returns nil when the caller was already answered (its deadline
    /// passed before the insert: nothing is stored then).
    private func submitInRow(_ request: JobRequest, idempotencyKey: String?, activeLimit: Int?, submitNow: Bool, now: Date,
                             beganInsert: () -> Bool, stored: () -> Void, race: ResumeOnce<Outcome>) throws -> Outcome? {
        let site = submitter.site, store = submitter.store
        let planned = try JobSubmitter.plan(request, site: site, resolver: submitter.resolver, now: now)
        guard beganInsert() else { return nil }
        let insertion = try store.insertInGroupCommitWaiting(planned.job, idempotencyKey: idempotencyKey, requestHash: planned.requestHash,
                                                             activeLimit: activeLimit)
        stored()
        let job: Job
        switch insertion {
        case .existing(let earlier): return .retried(earlier)
        case .created(let created): job = created
        }
        guard submitNow else {
            logger.info("controller unreachable; the job stays accepted until the reconciler submits it", metadata: ["job_id": "\(job.id.uuidString.lowercased())"])
            return answer(job)
        }
        guard let blockingSubmit = submitter.schedulers[job.cluster]?.blockingSubmit, Self.takeInlineSlot() else {
            return .handedBack(job, spec: planned.spec)
        }
        // From here the caller waits at most `schedulerWait`; the lane goes on and records the outcome.
        let waitTimer = DeadlineTimer.shared.schedule(after: schedulerWait) { race.finish(.success(.stillSubmitting(job))) }
        defer { waitTimer.cancel() }
        let current = submitInline(job, spec: planned.spec, blockingSubmit: blockingSubmit)
        return answer(current)
    }

    /// The job with its history as stored now (read back, as `JobService.answer` does), or, when the
    /// read fails, the job alone for the caller to read again.
    private func answer(_ job: Job) -> Outcome {
        guard let transitions = try? submitter.store.transitions(of: job.id) else { return .stillSubmitting(job) }
        return .answered(job, transitions: transitions)
    }

    /// Takes one of the `inlineSchedulerCalls` slots; false when all are taken.
    private static func takeInlineSlot() -> Bool {
        inScheduler.withLock { count in
            guard count < inlineSchedulerCalls else { return false }
            count += 1
            return true
        }
    }

    /// Makes the run directory, calls the scheduler on this thread and records the outcome, as
    /// `JobSubmitter.submit` does on the staged path; returns the job as stored afterwards. Gives the
    /// inline slot back.
    private func submitInline(_ job: Job, spec: BatchJobSpec, blockingSubmit: @Sendable (BatchJobSpec) throws -> NativeJobID) -> Job {
        let id = job.id, attempts = submitter.attempts, store = submitter.store
        let native: NativeJobID
        do {
            defer { Self.inScheduler.withLock { $0 -= 1 } }
            guard attempts.begin(id) else { return job }
            do {
                try JobSubmitter.makeDirectory(spec.workingDirectory)
            } catch {
                attempts.answered(id)
                logger.warning("submission deferred: the run directory could not be created", metadata: ["job_id": "\(id.uuidString.lowercased())", "error": "\(error)"])
                return job
            }
            do {
                native = try blockingSubmit(spec)
                attempts.answered(id)
            } catch let error as SchedulerError where error.kind == .timeout {
                // Sent, but no answer: the controller may have it. See SubmissionAttempts.
                attempts.unanswered(id, at: Date())
                throw error
            } catch {
                attempts.answered(id)
                throw error
            }
        } catch let error as SchedulerError where error.transient {
            logger.warning("submission deferred: the scheduler is unavailable", metadata: ["job_id": "\(id.uuidString.lowercased())", "error": "\(error)"])
            return job
        } catch let error as SchedulerError {
            return (try? JobSubmitter.recordRefusal(error, of: id, source: "submitter", at: Date(), in: store)) ?? job
        } catch {
            logger.error("immediate submission failed; the reconciler will retry", metadata: ["job_id": "\(id.uuidString.lowercased())", "error": "\(error)"])
            return job
        }
        let path = submitter.schedulers[job.cluster]?.path ?? "scheduler"
        do {
            switch try store.recordSubmissionInGroupCommitWaiting(id, native: native.rawValue, source: "submitter",
                                                                  reason: "submitted as \(native) via \(path)", at: Date()) {
            case .recorded(let recorded), .alreadyRecorded(let recorded):
                return recorded
            case .surplus(let current):
                // Cancelled (or adopted elsewhere) while the scheduler call ran: this submission must not run.
                logger.warning("cancelling a surplus scheduler job", metadata: ["job_id": "\(id.uuidString.lowercased())", "native_job_id": "\(native)", "state": "\(current.state.rawValue)"])
                if let scheduler = submitter.schedulers[job.cluster] { Task { try? await scheduler.cancel(native) } }
                return current
            }
        } catch {
            // The controller has the job; the store did not take its id. The reconciler adopts it by its tag.
            logger.error("recording a submission failed; the reconciler will adopt the job by its tag", metadata: ["job_id": "\(id.uuidString.lowercased())", "native_job_id": "\(native)", "error": "\(error)"])
            return job
        }
    }
}
