import Foundation
import GRDB
import Synchronization

/// The durable record of every job: SQLite through GRDB, in WAL mode, so readers never block the
/// writer and a killed process loses nothing that was committed.
///
/// Every state change appends to `jobTransition` in the same transaction as the change itself, so the
/// history can be replayed (event streams resume from it) and never disagrees with the job.
public final class JobStore: Sendable {
    let pool: DatabasePool
    /// Shared transactions for the writes of concurrent submissions.
    let groupCommit: GroupCommit
    public let path: String
    private let observers = Mutex<[@Sendable ([Event]) -> Void]>([])
    private let taskObservers = Mutex<[@Sendable ([TaskChange]) -> Void]>([])
    private let tokenObservers = Mutex<[@Sendable () -> Void]>([])
    private let rowObservers = Mutex<[@Sendable ([UUID]) -> Void]>([])

    /// A committed state change: the job as it is after it, and the transition that recorded it.
    public struct Event: Sendable, Equatable {
        public let job: Job
        public let transition: JobTransition
        /// The run and step the job carries, when it is a step of a run (set before observers are told).
        public var step: RunStepReference?

        public init(job: Job, transition: JobTransition, step: RunStepReference? = nil) {
            self.job = job
            self.transition = transition
            self.step = step
        }

        /// What an event stream shows of a change: the transition, whose job it is, and for a step of a
        /// run, which run and step (so a client follows a run's progress in the same stream).
        public struct Summary: Sendable, Equatable {
            public let transition: JobTransition
            public let group: String
            public let pipeline: String
            public var step: RunStepReference?
        }

        public var summary: Summary { Summary(transition: transition, group: job.researchGroup, pipeline: job.pipelineName, step: step) }
    }

    /// A step of a run, as events name it.
    public struct RunStepReference: Sendable, Equatable {
        public let runID: UUID
        public let step: String
    }

    /// Calls `observer` after every commit that changed job states (metrics, live events), in commit
    /// order, outside the transaction.
    public func observe(_ observer: @escaping @Sendable ([Event]) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Calls `observer` after this process created or revoked an API token (the token cache).
    public func observeTokens(_ observer: @escaping @Sendable () -> Void) {
        tokenObservers.withLock { $0.append(observer) }
    }

    func notifyTokensChanged() {
        for observer in tokenObservers.withLock({ $0 }) { observer() }
    }

    /// Calls `observer` with the ids of the jobs whose rows a commit changed, whatever changed in them
    /// (state or not): what a cache of job rows must forget.
    public func observeJobRows(_ observer: @escaping @Sendable ([UUID]) -> Void) {
        rowObservers.withLock { $0.append(observer) }
    }

    func notifyRowsChanged(_ ids: [UUID]) {
        guard !ids.isEmpty else { return }
        for observer in rowObservers.withLock({ $0 }) { observer(ids) }
    }

    func notify(_ events: [Event]) {
        guard !events.isEmpty else { return }
        let steps = (try? runSteps(of: events.map(\.job.id))) ?? [:]
        let named = steps.isEmpty ? events : events.map { event in
            var event = event
            event.step = steps[event.job.id]
            return event
        }
        tell(named)
    }

    /// Tells the observers about events whose run steps are already set (or that are no steps).
    func tell(_ events: [Event]) {
        guard !events.isEmpty else { return }
        for observer in observers.withLock({ $0 }) { observer(events) }
    }

    /// Ids in groups of at most 500, so an `IN (...)` list stays under SQLite's limit on parameters.
    static func chunks(of ids: [UUID]) -> [[UUID]] {
        stride(from: 0, to: ids.count, by: 500).map { Array(ids[$0..<min($0 + 500, ids.count)]) }
    }

    /// The run and step of each of these jobs that is a step of a run (one query for a batch).
    private func runSteps(of jobIDs: [UUID]) throws -> [UUID: RunStepReference] {
        try pool.read { db in
            var steps: [UUID: RunStepReference] = [:]
            for chunk in Self.chunks(of: jobIDs) {
                let sql = "SELECT jobID, runID, name FROM runStep WHERE jobID IN (\(chunk.map { _ in "?" }.joined(separator: ", ")))"
                for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(chunk.map(\.uuidString))) {
                    if let job = UUID(uuidString: row[0]), let run = UUID(uuidString: row[1]) { steps[job] = RunStepReference(runID: run, step: row[2]) }
                }
            }
            return steps
        }
    }

    /// Calls `observer` after every commit that changed array tasks' states (the task metrics).
    public func observeTasks(_ observer: @escaping @Sendable ([TaskChange]) -> Void) {
        taskObservers.withLock { $0.append(observer) }
    }

    func notifyTasks(_ changes: [TaskChange]) {
        guard !changes.isEmpty else { return }
        for observer in taskObservers.withLock({ $0 }) { observer(changes) }
    }

    /// Why the store refused a write.
    public enum StoreError: Error, Sendable, CustomStringConvertible, Equatable {
        case notFound(UUID)
        /// The lifecycle does not allow this move (terminal states are final; only a requeue goes back).
        case invalidTransition(UUID, from: JobState, to: JobState)
        /// The idempotency key was used before for a different request.
        case idempotencyConflict(key: String)
        /// The group already has `active` unfinished jobs, its limit.
        case overQuota(group: String, active: Int)
        /// The store could not be opened, or failed its integrity check: the service must not start on it.
        case unusable(path: String, reason: String)

        public var description: String {
            switch self {
            case .notFound(let id): return "no job \(id)"
            case .invalidTransition(let id, let from, let to): return "job \(id) cannot move from \(from.rawValue) to \(to.rawValue)"
            case .idempotencyConflict(let key): return "the Idempotency-Key \(key) was already used for a different request; use a new key"
            case .overQuota(let group, let active):
                return "research group \"\(group)\" has \(active) unfinished jobs, its limit (max_active_jobs); retry when some finish"
            case .unusable(let path, let reason):
                return "the job store \(path) cannot be used: \(reason). hpcbridge leaves the file as it is. If it is damaged, stop the service, "
                    + "move the file aside (with its -wal and -shm files; `sqlite3 FILE .recover` may save its contents) and restore the last backup; "
                    + "if its disk is full or read-only, fix that and start the service again"
            }
        }
    }

    /// Times are stored as REAL seconds since 2001-01-01 (Foundation's reference date, so a `Date`
    /// round-trips exactly); GRDB's default text dates keep milliseconds only.
    ///
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    public init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        do {
            // A damaged file must stop the start-up, not fail requests one by one later, and must not be
            // written to: checked on a read-only connection before the pool (which may write) opens it.
            if FileManager.default.fileExists(atPath: path) {
                var readOnly = Configuration()
                readOnly.readonly = true
                let check = try DatabaseQueue(path: path, configuration: readOnly).read { db in
                    try String.fetchOne(db, sql: "PRAGMA quick_check(1)")
                } ?? "no answer"
                guard check == "ok" else { throw StoreError.unusable(path: path, reason: "SQLite's integrity check reports: \(check)") }
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB puts a pool's writer in WAL mode with `synchronous = NORMAL`: a commit reaches the WAL
            // file but is not flushed to the disk, so a crash of the node (not of the process) could lose
            // a job that was already answered 201 and handed to Slurm. FULL flushes the WAL at every
            // commit; the group commit makes concurrent submissions share those flushes.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
            groupCommit = GroupCommit(pool: pool)
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.unusable(path, error)
        }
        self.path = path
    }

    /// A store fault as the reason a store cannot be used.
    static func unusable(_ path: String, _ error: any Error) -> StoreError {
        .unusable(path: path, reason: StoreFault.describe(error).map { "\($0) (\(error))" } ?? "\(error)")
    }

    /// Refuses a store that cannot take writes, for `serve`'s start-up. Opening alone does not show it:
    /// on a file system mounted read-only SQLite still opens and reads the store while its WAL files
    /// are there (and the migrations have nothing to write), and the service would then answer every
    /// submission 503 instead of refusing to start.
    public func requireWritable() throws {
        do { try checkWritable() } catch { throw Self.unusable(path, error) }
    }

    /// The lifecycle states of unfinished jobs, as stored.
    static let openStates = JobState.allCases.filter { !$0.isTerminal }.map(\.rawValue)

    /// The journal mode SQLite reports (`wal`).
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// The writer's `synchronous` setting as SQLite reports it (2: FULL, every commit flushed).
    public func writerSynchronousMode() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The outcome of an insert with an idempotency key.
    public enum Insertion: Sendable, Equatable {
        case created(Job)
        /// The key was used before for the same request: the job it created.
        case existing(Job)
    }

    /// Inserts a new job as it is (normally `accepted`) with its first transition, in one transaction.
    /// With an idempotency key, a retry of the same request returns the job the first attempt created.
    ///
    /// With `activeLimit`, a new job is refused (`StoreError.overQuota`) when its group already has that
    /// many unfinished jobs, counted in the same write transaction: concurrent submissions cannot overshoot
    /// the quota. A retry of an accepted request (same idempotency key) is answered whatever the count.
    public func insert(_ job: Job, idempotencyKey: String? = nil, requestHash: String = "", source: String = "api",
                       activeLimit: Int? = nil) throws -> Insertion {
        let (insertion, event) = try pool.write { db in
            try Self.insert(job, idempotencyKey: idempotencyKey, requestHash: requestHash, source: source, activeLimit: activeLimit, in: db, counting: nil)
        }
        notify(event.map { [$0] } ?? [])
        return insertion
    }

    /// `insert` in a transaction shared with concurrent writes (`GroupCommit`): how a submission stores
    /// its job. Returns after the commit.
    public func insertInGroupCommit(_ job: Job, idempotencyKey: String? = nil, requestHash: String = "", source: String = "api",
                                    activeLimit: Int? = nil) async throws -> Insertion {
        try await groupCommit.write(sharedInsert(job, idempotencyKey: idempotencyKey, requestHash: requestHash, source: source, activeLimit: activeLimit))
    }

    /// `insertInGroupCommit`, waiting on the calling thread (a submission lane's; see `GroupCommit.writeWaiting`).
    func insertInGroupCommitWaiting(_ job: Job, idempotencyKey: String?, requestHash: String, source: String = "api",
                                    activeLimit: Int?) throws -> Insertion {
        try groupCommit.writeWaiting(sharedInsert(job, idempotencyKey: idempotencyKey, requestHash: requestHash, source: source, activeLimit: activeLimit))
    }

    /// The insert as one write of a shared transaction, telling observers after its commit.
    private func sharedInsert(_ job: Job, idempotencyKey: String?, requestHash: String, source: String,
                              activeLimit: Int?) -> @Sendable (Database, GroupCommit.Batch) throws -> Insertion {
        { [self] db, batch in
            let (insertion, event) = try Self.insert(job, idempotencyKey: idempotencyKey, requestHash: requestHash, source: source,
                                                     activeLimit: activeLimit, in: db, counting: batch)
            // A new job is never a step of a run (runs insert their steps themselves): no step to look up.
            if let event { batch.afterCommit.append { [self] in tell([event]) } }
            return insertion
        }
    }

    /// The insert itself, inside a transaction. With `batch`, a group's open jobs are counted once per
    /// shared transaction and kept current by its inserts, instead of once per insert.
    private static func insert(_ job: Job, idempotencyKey: String?, requestHash: String, source: String, activeLimit: Int?,
                               in db: Database, counting batch: GroupCommit.Batch?) throws -> (Insertion, Event?) {
        if let key = idempotencyKey,
           let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT requestHash, jobID FROM idempotencyKey WHERE researchGroup = ? AND key = ?"),
                                      arguments: [job.researchGroup, key]) {
            guard row[0] as String == requestHash else { throw StoreError.idempotencyConflict(key: key) }
            let id: String = row[1]
            guard let existing = try JobRecord.find(id, in: db) else { throw StoreError.notFound(job.id) }
            return (.existing(existing.job), nil)
        }
        if let activeLimit {
            let active = try batch?.openJobs[job.researchGroup] ?? Self.activeJobCount(group: job.researchGroup, in: db)
            guard active < activeLimit else { throw StoreError.overQuota(group: job.researchGroup, active: active) }
            batch?.openJobs[job.researchGroup] = active
        }
        let inserted = try insertRows(job, idempotencyKey: idempotencyKey, requestHash: requestHash, source: source, in: db)
        // Every insert of the transaction keeps the count it shares current (with a limit or not).
        if let batch, !job.state.isTerminal, let known = batch.openJobs[job.researchGroup] { batch.openJobs[job.researchGroup] = known + 1 }
        return inserted
    }

    private static func insertRows(_ job: Job, idempotencyKey: String?, requestHash: String, source: String, in db: Database) throws -> (Insertion, Event?) {
        try JobRecord(job).insertRow(in: db)
        let transition = try Self.record(JobTransition(jobID: job.id, fromState: nil, toState: job.state, at: job.createdAt, source: source, reason: "accepted"), in: db)
        if let key = idempotencyKey {
            try db.cachedStatement(sql: "INSERT INTO idempotencyKey (researchGroup, key, requestHash, jobID, createdAt) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [job.researchGroup, key, requestHash, job.id.uuidString, job.createdAt.timeIntervalSinceReferenceDate])
        }
        return (.created(job), Event(job: job, transition: transition))
    }

    /// Inserts many jobs as they are, each with its first transition, in one transaction: for imports and
    /// for benchmarks that need a large store. No idempotency keys; observers are not told (nothing that
    /// serves the API is expected to have the store open yet).
    public func insert(contentsOf jobs: [Job], source: String = "import") throws {
        try pool.write { db in
            for job in jobs {
                try JobRecord(job).insertRow(in: db)
                try Self.record(JobTransition(jobID: job.id, fromState: nil, toState: job.state, at: job.createdAt, source: source, reason: "imported"), in: db)
            }
        }
    }

    @discardableResult
    static func record(_ transition: JobTransition, in db: Database) throws -> JobTransition {
        var record = TransitionRecord(transition)
        try db.cachedStatement(sql: TransitionRecord.insertSQL).execute(arguments: StatementArguments(record.insertValues))
        record.sequence = db.lastInsertedRowID
        return record.transition
    }

    public func job(_ id: UUID) throws -> Job? {
        try pool.read { db in try JobRecord.find(id.uuidString, in: db)?.job }
    }

    /// The job's history, oldest first.
    public func transitions(of id: UUID) throws -> [JobTransition] {
        try pool.read { db in try Self.histories(of: [id], in: db)[id] ?? [] }
    }

    /// The histories of several jobs, oldest first, in one query.
    /// Raw SQL through the statement cache for one job (every read of a job): the query interface builds
    /// and prepares a new statement per call, which was a tenth of a submission's time.
    private static func histories(of ids: [UUID], in db: Database) throws -> [UUID: [JobTransition]] {
        if ids.count == 1 {
            let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM jobTransition WHERE jobID = ? ORDER BY sequence"), arguments: [ids[0].uuidString])
            return [ids[0]: try rows.map { try TransitionRecord(row: $0).transition }]
        }
        var histories: [UUID: [JobTransition]] = [:]
        for chunk in chunks(of: ids) {
            let sql = "SELECT * FROM jobTransition WHERE jobID IN (\(chunk.map { _ in "?" }.joined(separator: ", "))) ORDER BY sequence"
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(chunk.map(\.uuidString))) {
                let transition = try TransitionRecord(row: row).transition
                histories[transition.jobID, default: []].append(transition)
            }
        }
        return histories
    }

    /// A job and its history, read in one transaction.
    /// On GRDB's reader queue: the caller waits without holding a cooperative thread.
    public func jobWithTransitions(_ id: UUID) async throws -> (job: Job, transitions: [JobTransition])? {
        try await pool.read { db in
            guard let record = try JobRecord.find(id.uuidString, in: db) else { return nil }
            return (record.job, try Self.histories(of: [id], in: db)[id] ?? [])
        }
    }

    /// A change to one job, applied with others in one transaction.
    public struct Change: Sendable {
        public var id: UUID
        public var source: String
        public var reason: String?
        public var isRequeue: Bool
        /// When the change happened, if not at the time of applying (a start the reconciler learns late).
        public var at: Date?
        public var apply: @Sendable (inout Job) -> Void

        public init(id: UUID, source: String, reason: String? = nil, isRequeue: Bool = false, at: Date? = nil, apply: @escaping @Sendable (inout Job) -> Void) {
            self.id = id
            self.source = source
            self.reason = reason
            self.isRequeue = isRequeue
            self.at = at
            self.apply = apply
        }
    }

    /// How much of each job `apply` reads before changing it.
    public enum Reading: Sendable {
        /// Every column: the jobs it returns are whole.
        case whole
        /// Without the parameters and the rendered script (intent), a few kilobytes per job: what the
        /// reconciler uses for its batches (state, times, exit status). A change that sets either still
        /// writes it; the jobs returned and passed to observers carry them empty.
        case withoutScripts
    }

    /// Applies changes in one transaction; each state change appends a transition. A change the
    /// lifecycle forbids rolls the whole batch back.
    @discardableResult
    public func apply(_ changes: [Change], at now: Date = Date(), reading: Reading = .whole) throws -> [Job] {
        var events: [Event] = []
        let updated = try pool.write { db -> [Job] in
            events = []
            var updated: [Job] = []
            for change in changes {
                guard let record = try JobRecord.find(change.id.uuidString, in: db, reading: reading) else { throw StoreError.notFound(change.id) }
                var job = record.job
                let before = job.state
                change.apply(&job)
                if job.state != before {
                    guard before.canMove(to: job.state, isRequeue: change.isRequeue) else {
                        throw StoreError.invalidTransition(job.id, from: before, to: job.state)
                    }
                    let transition = try Self.record(JobTransition(jobID: job.id, fromState: before, toState: job.state, at: change.at ?? now,
                                                                   source: change.source, reason: change.reason), in: db)
                    events.append(Event(job: job, transition: transition))
                }
                try JobRecord(job).updateRow(in: db, changedFrom: record)
                updated.append(job)
            }
            return updated
        }
        notifyRowsChanged(updated.map(\.id))
        notify(events)
        return updated
    }

    /// Convenience for one change.
    @discardableResult
    public func update(_ id: UUID, source: String, reason: String? = nil, isRequeue: Bool = false, at now: Date = Date(),
                       _ apply: @escaping @Sendable (inout Job) -> Void) throws -> Job {
        try self.apply([Change(id: id, source: source, reason: reason, isRequeue: isRequeue, apply: apply)], at: now)[0]
    }

    /// Filters for listing jobs.
    public struct Filter: Sendable {
        public var researchGroup: String?
        public var states: [JobState]?
        public var pipeline: String?
        public var createdAfter: Date?
        public var createdBefore: Date?
        public init(researchGroup: String? = nil, states: [JobState]? = nil, pipeline: String? = nil, createdAfter: Date? = nil, createdBefore: Date? = nil) {
            self.researchGroup = researchGroup
            self.states = states
            self.pipeline = pipeline
            self.createdAfter = createdAfter
            self.createdBefore = createdBefore
        }
    }

    /// A page of jobs, newest first, and the cursor of the next page (`nil` at the end). The cursor is
    /// the last job's (createdAt, id), so pages stay stable while new jobs arrive.
    public func jobs(_ filter: Filter, after cursor: (createdAt: Date, id: UUID)? = nil, limit: Int = 50) throws -> (jobs: [Job], next: (createdAt: Date, id: UUID)?) {
        try pool.read { db in try Self.jobs(filter, after: cursor, limit: limit, in: db) }
    }

    /// One page of job ids, newest first, and the cursor of the next page: a list answered from kept
    /// representations reads only the index, not 50 whole rows. Raw SQL through SQLite's statement
    /// cache, ids read from their text without Foundation's parser: the query interface built and
    /// prepared the statement on every call, and `UUID(uuidString:)` runs `sscanf` (together 15 % of a
    /// page's CPU in the read benchmark's profile).
    public func jobIDs(_ filter: Filter, after cursor: (createdAt: Date, id: UUID)? = nil, limit: Int = 50) async throws -> (ids: [UUID], next: (createdAt: Date, id: UUID)?) {
        let (sql, arguments) = Self.pageQuery(filter, after: cursor, limit: limit)
        return try await pool.read { db in
            var page: [(id: UUID, createdAt: Double)] = []
            page.reserveCapacity(limit + 1)
            let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
            while let row = try rows.next() {
                let text: String = row[0]
                guard let id = UUID(canonicalUTF8: text.utf8) else { continue }
                page.append((id, row[1]))
            }
            let next = page.count > limit ? page[limit - 1] : nil
            return (page.prefix(limit).map(\.id), next.map { (Date(timeIntervalSinceReferenceDate: $0.createdAt), $0.id) })
        }
    }

    /// The SQL and arguments of a page of ids (one statement text per combination of filters, so the
    /// statement cache holds a handful). Ids are stored as Foundation's uppercase UUID text.
    static func pageQuery(_ filter: Filter, after cursor: (createdAt: Date, id: UUID)?, limit: Int, columns: String = "id, createdAt") -> (sql: String, arguments: StatementArguments) {
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let group = filter.researchGroup {
            conditions.append("researchGroup = ?")
            arguments += [group]
        }
        if let states = filter.states {
            conditions.append(states.isEmpty ? "0" : "state IN (\(states.map { _ in "?" }.joined(separator: ", ")))")
            arguments += StatementArguments(states.map(\.rawValue))
        }
        if let pipeline = filter.pipeline {
            conditions.append("pipelineName = ?")
            arguments += [pipeline]
        }
        if let after = filter.createdAfter {
            conditions.append("createdAt >= ?")
            arguments += [after.timeIntervalSinceReferenceDate]
        }
        if let before = filter.createdBefore {
            conditions.append("createdAt < ?")
            arguments += [before.timeIntervalSinceReferenceDate]
        }
        if let cursor {
            let t = cursor.createdAt.timeIntervalSinceReferenceDate
            conditions.append("(createdAt < ? OR (createdAt = ? AND id < ?))")
            arguments += [t, t, cursor.id.uuidString]
        }
        arguments += [limit + 1]
        let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return ("SELECT \(columns) FROM job\(condition) ORDER BY createdAt DESC, id DESC LIMIT ?", arguments)
    }

    /// Jobs by id with their histories, without the rendered script (what a representation needs).
    public func jobsWithTransitions(ids: [UUID]) async throws -> [UUID: (job: Job, transitions: [JobTransition])] {
        guard !ids.isEmpty else { return [:] }
        return try await pool.read { db in
            var result: [UUID: (job: Job, transitions: [JobTransition])] = [:]
            for chunk in Self.chunks(of: ids) {
                let sql = "SELECT \(JobRecord.columnsWithoutIntent) FROM job WHERE id IN (\(chunk.map { _ in "?" }.joined(separator: ", ")))"
                let jobs = try JobRecord.fetchAll(db, sql: sql, arguments: StatementArguments(chunk.map(\.uuidString))).map(\.job)
                let histories = try Self.histories(of: chunk, in: db)
                for job in jobs { result[job.id] = (job, histories[job.id] ?? []) }
            }
            return result
        }
    }

    private static func jobs(_ filter: Filter, after cursor: (createdAt: Date, id: UUID)?, limit: Int, in db: Database) throws -> (jobs: [Job], next: (createdAt: Date, id: UUID)?) {
        let (sql, arguments) = Self.pageQuery(filter, after: cursor, limit: limit, columns: JobRecord.selection)
        let page = try JobRecord.fetchAll(db, sql: sql, arguments: arguments).map(\.job)
        let jobs = Array(page.prefix(limit))
        let next = page.count > limit ? jobs.last.map { ($0.createdAt, $0.id) } : nil
        return (jobs, next)
    }

    /// What happened when a submission was recorded.
    public enum SubmissionRecord: Sendable, Equatable {
        /// The job was accepted and is now queued with this native id.
        case recorded(Job)
        /// The job already carries this native id (the reconciler adopted it first).
        case alreadyRecorded(Job)
        /// The job moved on meanwhile (cancelled, or adopted with another native id): the scheduler job
        /// just submitted is surplus and must be cancelled.
        case surplus(Job)
    }

    /// Records that an accepted job was submitted as `native`, in one transaction that first checks the
    /// job is still accepted: a cancel or an adoption that came first wins, and the caller learns that
    /// its scheduler job is surplus.
    public func recordSubmission(_ id: UUID, native: String, source: String, reason: String, at now: Date) throws -> SubmissionRecord {
        let (outcome, event) = try pool.write { db in try Self.recordSubmission(id, native: native, source: source, reason: reason, at: now, in: db) }
        notifyRowsChanged([id])
        tell(event.map { [$0] } ?? [])
        return outcome
    }

    /// `recordSubmission` in a transaction shared with concurrent writes (`GroupCommit`).
    ///
    /// Not flushed on its own (see GroupCommit.write): lost in a crash of the node, the job is still
    /// accepted in the store and the reconciler adopts the Slurm job by its tag, as after a kill -9
    /// between the libslurm call and this write. The job itself was flushed before the call.
    public func recordSubmissionInGroupCommit(_ id: UUID, native: String, source: String, reason: String,
                                              at now: Date) async throws -> SubmissionRecord {
        try await groupCommit.write(flush: false, sharedSubmissionRecord(id, native: native, source: source, reason: reason, at: now))
    }

    /// `recordSubmissionInGroupCommit`, waiting on the calling thread (a submission lane's).
    func recordSubmissionInGroupCommitWaiting(_ id: UUID, native: String, source: String, reason: String, at now: Date) throws -> SubmissionRecord {
        try groupCommit.writeWaiting(flush: false, sharedSubmissionRecord(id, native: native, source: source, reason: reason, at: now))
    }

    /// The submission's record as one write of a shared transaction, telling observers after its commit.
    private func sharedSubmissionRecord(_ id: UUID, native: String, source: String, reason: String,
                                        at now: Date) -> @Sendable (Database, GroupCommit.Batch) throws -> SubmissionRecord {
        { [self] db, batch in
            let (outcome, event) = try Self.recordSubmission(id, native: native, source: source, reason: reason, at: now, in: db)
            batch.afterCommit.append { [self] in
                notifyRowsChanged([id])
                tell(event.map { [$0] } ?? [])
            }
            return outcome
        }
    }

    /// The submission's record inside a transaction, with the event for observers (its run step, when
    /// the job is one, read in the same transaction).
    private static func recordSubmission(_ id: UUID, native: String, source: String, reason: String, at now: Date,
                                         in db: Database) throws -> (SubmissionRecord, Event?) {
        guard let record = try JobRecord.find(id.uuidString, in: db) else { throw StoreError.notFound(id) }
        var job = record.job
        if job.nativeJobID == native { return (.alreadyRecorded(job), nil) }
        guard job.state == .accepted, job.nativeJobID == nil else { return (.surplus(job), nil) }
        job.state = .queued
        job.nativeJobID = native
        job.submittedAt = now
        let transition = try Self.record(JobTransition(jobID: id, fromState: .accepted, toState: .queued, at: now, source: source, reason: reason), in: db)
        try JobRecord(job).updateRow(in: db, changedFrom: record)
        let step = try Row.fetchOne(db.cachedStatement(sql: "SELECT runID, name FROM runStep WHERE jobID = ?"), arguments: [id.uuidString])
            .flatMap { row in UUID(uuidString: row[0]).map { RunStepReference(runID: $0, step: row[1]) } }
        return (.recorded(job), Event(job: job, transition: transition, step: step))
    }

    /// Transitions after a history position, oldest first, with the job's group and pipeline: how an
    /// event stream resumes from `Last-Event-ID` without gaps. `group`, `jobID` and `runID` narrow it.
    public func transitions(after sequence: Int64, group: String? = nil, jobID: UUID? = nil, runID: UUID? = nil, limit: Int = 1000) throws -> [Event.Summary] {
        try pool.read { db in
            var sql = """
                SELECT t.*, j.researchGroup, j.pipelineName, s.runID AS runID, s.name AS stepName
                FROM jobTransition t JOIN job j ON j.id = t.jobID LEFT JOIN runStep s ON s.jobID = t.jobID
                WHERE t.sequence > ?
                """
            var arguments: StatementArguments = [sequence]
            if let group { sql += " AND j.researchGroup = ?"; arguments += [group] }
            if let jobID { sql += " AND t.jobID = ?"; arguments += [jobID.uuidString] }
            if let runID { sql += " AND s.runID = ?"; arguments += [runID.uuidString] }
            sql += " ORDER BY t.sequence LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let runID: String? = row["runID"], stepName: String? = row["stepName"]
                let step = runID.flatMap(UUID.init(uuidString:)).flatMap { id in stepName.map { RunStepReference(runID: id, step: $0) } }
                return Event.Summary(transition: try TransitionRecord(row: row).transition, group: row["researchGroup"], pipeline: row["pipelineName"], step: step)
            }
        }
    }

    /// Jobs per research group, pipeline and state: what the per-state gauges start from (one grouped
    /// query at start; committed changes keep them current afterwards).
    public struct StateCount: Sendable, Equatable {
        public let group: String
        public let pipeline: String
        public let state: JobState
        public let count: Int
    }

    public func stateCounts() throws -> [StateCount] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT researchGroup, pipelineName, state, COUNT(*) AS n FROM job GROUP BY researchGroup, pipelineName, state").compactMap { row in
                guard let state = JobState(rawValue: row["state"]) else { return nil }
                return StateCount(group: row["researchGroup"], pipeline: row["pipelineName"], state: state, count: row["n"])
            }
        }
    }

    /// The job an Idempotency-Key of a group created, if it was used.
    public func jobID(group: String, idempotencyKey: String) throws -> UUID? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT jobID FROM idempotencyKey WHERE researchGroup = ? AND key = ?", arguments: [group, idempotencyKey])
                .flatMap(UUID.init(uuidString:))
        }
    }

    /// How many of a group's jobs are not finished (the `max_active_jobs` quota counts these).
    public func activeJobCount(group: String) throws -> Int {
        try pool.read { db in try Self.activeJobCount(group: group, in: db) }
    }

    /// A group's unfinished jobs, as the triggers of migration v9 keep them.
    static func activeJobCount(group: String, in db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count FROM groupOpenJobs WHERE researchGroup = ?"), arguments: [group]) ?? 0
    }

    /// Runs synchronous store calls on the store's blocking pool (`BlockingCallPool.store`), so a request
    /// that reads or writes the store waits without holding one of Swift's cooperative threads (two on
    /// a 2-core login node: a store waiting on its disk would otherwise stall every request). After
    /// `deadline` the caller stops waiting (`BlockingCallPool.TimedOut`); the call finishes on its thread.
    public func offload<T: Sendable>(deadline: Duration = JobStore.requestDeadline, _ call: @escaping @Sendable (JobStore) throws -> T) async throws -> T {
        try await BlockingCallPool.store.run(deadline: deadline) { try call(self) }
    }

    /// How long a request waits for the store: SQLite's busy timeout (5 s) and then some.
    public static let requestDeadline: Duration = .seconds(10)

    /// A synchronous store call of a long-running service (the reconciler, the token cache), off Swift's
    /// cooperative pool like `offload`, with a deadline long enough for a large batch.
    ///
    /// Why never on the cooperative pool: GRDB's asynchronous reads hold a reader connection until the
    /// awaiting task runs again on that pool, and a synchronous read there waits for a free reader. With
    /// every cooperative thread (two on a 2-core node) in such a wait, the readers were never given back,
    /// and the whole service stopped answering, `/healthz` included (the sustained-load scenario of
    /// `make reliability-fast`, session 14; RELIABILITY.md 22).
    public func background<T: Sendable>(_ call: @escaping @Sendable (JobStore) throws -> T) async throws -> T {
        try await offload(deadline: Self.backgroundDeadline, call)
    }

    /// How long a background service waits for one store call (a reconcile batch of many jobs included).
    public static let backgroundDeadline: Duration = .seconds(300)

    /// Proves the store takes writes (readiness): one committed write of the probe row. (A rolled-back
    /// transaction writes nothing, so it passed on a store that could no longer write.)
    /// The probe's commit is not flushed: it proves that SQLite takes a write, and with the writer's
    /// FULL a flush per probe made every `/readyz` wait for the disk (p99 69 ms in the hang scenario).
    public func checkWritable(now: Date = Date()) throws {
        try pool.writeWithoutTransaction { db in
            try db.withUnflushedCommits {
                try db.inTransaction {
                    try db.execute(sql: "INSERT OR REPLACE INTO storeProbe (id, writtenAt) VALUES (1, ?)", arguments: [now.timeIntervalSinceReferenceDate])
                    return .commit
                }
            }
        }
    }

    /// Copies every commit from the WAL into the store's file and closes its connections, for the end
    /// of `serve`. SQLite does this itself when the last connection closes, but a process that exits
    /// while a task still holds the store skips it, and the store is then two files (the file and its
    /// `-wal`) with the newest commits only in the second: a copy of the file alone as a backup misses
    /// them, and damage to the file alone is hidden by the WAL's pages. After this the stopped
    /// service's store is one file. The checkpoint runs before the close (which would also run one) so
    /// that the file is whole even when closing fails, e.g. on a connection still in use. Nothing may
    /// use the store afterwards (reads and writes throw).
    public func close() throws {
        try pool.writeWithoutTransaction { db in _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try pool.close()
    }

    /// The sequence number of the latest transition (0 for an empty store): every insert, submission and
    /// state change appends one, so an unchanged number means no job was added or moved.
    public func lastTransitionSequence() throws -> Int64 {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM jobTransition") ?? 0 }
    }

    /// Every job of a cluster that is not finished: what the reconciler follows, also after a restart.
    /// Read without parameters and intent (both `""`): they are most of a row (the rendered script), and
    /// reading them for every open job on every cycle made the reconciler's memory grow with the scripts
    /// of all open jobs (the reliability suite's load run: 125 MB to 195 MB with 5,000 queued jobs).
    /// `job(_:)` reads a job whole where its intent is needed.
    public func nonTerminalJobs(cluster: String) throws -> [Job] {
        try pool.read { db in try Self.nonTerminalJobs(cluster: cluster, in: db) }
    }

    /// `nonTerminalJobs`, read on one of GRDB's reader threads while the caller waits without a thread.
    public func nonTerminalJobs(cluster: String) async throws -> [Job] {
        try await pool.read { db in try Self.nonTerminalJobs(cluster: cluster, in: db) }
    }

    /// What changed among a cluster's jobs: with no position, every open job; after a position, every
    /// job of the cluster whose row was written since (in any state: a finished one leaves the caller's
    /// set). With the position to ask from next time, read in the same transaction. Rows without their
    /// parameters and intent, as `nonTerminalJobs`.
    public func jobChanges(cluster: String, after position: Int64?) async throws -> (jobs: [Job], through: Int64) {
        try await pool.read { db in
            let through = try Int64.fetchOne(db.cachedStatement(sql: "SELECT IFNULL(MAX(changeSequence), 0) FROM job")) ?? 0
            guard let position else { return (try Self.nonTerminalJobs(cluster: cluster, in: db), through) }
            let rows = try Row.fetchAll(db.cachedStatement(sql: Self.changedJobsSQL), arguments: [position, cluster])
            return (try rows.map { try JobRecord(row: $0).job }, through)
        }
    }

    private static let changedJobsSQL = "SELECT \(JobRecord.columnsWithoutScripts) FROM job WHERE changeSequence > ? AND cluster = ?"

    private static let nonTerminalJobsSQL =
        "SELECT \(JobRecord.columnsWithoutScripts) FROM job WHERE cluster = ? AND state IN (\(openStates.map { _ in "?" }.joined(separator: ", "))) ORDER BY createdAt"

    private static func nonTerminalJobs(cluster: String, in db: Database) throws -> [Job] {
        try Row.fetchAll(db.cachedStatement(sql: nonTerminalJobsSQL), arguments: StatementArguments([cluster] + openStates)).map { try JobRecord(row: $0).job }
    }
}
