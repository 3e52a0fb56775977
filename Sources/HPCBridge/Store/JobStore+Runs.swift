import Foundation
import GRDB

/// A committed change of one array task's state: what the task metrics count.
public struct TaskChange: Sendable, Equatable {
    public let group: String
    public let pipeline: String
    public let step: String
    /// nil for a task just stored.
    public let from: JobState?
    public let to: JobState
    /// Seconds from start to end, for a task that ended after it ran.
    public let runSeconds: Double?
}

/// Runs in the job store: the run itself, its steps (each one `job` row, so the reconciler, the event
/// stream and the metrics follow a step like any job) and the array tasks of its scatter steps.
extension JobStore {
    /// What a new run is stored as: the run, one job per step (accepted, with its intent) in catalog
    /// order, and every array task with its script.
    public struct NewRun: Sendable {
        public var run: Run
        public var steps: [(step: RunStep, job: Job)]
        public var tasks: [(task: RunTask, script: String)]

        public init(run: Run, steps: [(step: RunStep, job: Job)], tasks: [(task: RunTask, script: String)]) {
            self.run = run
            self.steps = steps
            self.tasks = tasks
        }
    }

    /// The outcome of storing a run with an idempotency key.
    public enum RunInsertion: Sendable, Equatable {
        case created(Run)
        /// The key was used before for the same request: the run it created.
        case existing(Run)
    }

    /// Stores a whole run in one transaction, before any scheduler call: a crash at any later point
    /// leaves every step's intent and every task's script to submit or adopt from. With an idempotency
    /// key, a retry of the same request returns the run of the first attempt.
    public func insert(_ new: NewRun, idempotencyKey: String? = nil, requestHash: String = "", source: String = "api") throws -> RunInsertion {
        var events: [Event] = []
        let insertion = try pool.write { db -> RunInsertion in
            events = []
            let run = new.run
            if let key = idempotencyKey,
               let row = try Row.fetchOne(db, sql: "SELECT requestHash, runID FROM runIdempotencyKey WHERE researchGroup = ? AND key = ?",
                                          arguments: [run.researchGroup, key]) {
                guard row["requestHash"] as String == requestHash else { throw StoreError.idempotencyConflict(key: key) }
                let id: String = row["runID"]
                guard let existing = try Self.run(id, in: db) else { throw StoreError.notFound(run.id) }
                return .existing(existing)
            }
            try db.execute(sql: """
                INSERT INTO run (id, pipelineName, pipelineVersion, researchGroup, cluster, description, parametersJSON, samplesJSON,
                                 runDirectory, parallelLimit, createdAt, tagsJSON, receivedRequestJSON) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [run.id.uuidString, run.pipelineName, run.pipelineVersion, run.researchGroup, run.cluster, run.description,
                                 run.parametersJSON, run.samplesJSON, run.runDirectory, run.parallelLimit, run.createdAt.timeIntervalSinceReferenceDate,
                                 Self.tagsJSON(run.tags), run.receivedRequestJSON])
            for (position, (step, job)) in new.steps.enumerated() {
                try JobRecord(job).insertRow(in: db)
                let transition = try Self.record(JobTransition(jobID: job.id, fromState: nil, toState: job.state, at: job.createdAt, source: source,
                                                               reason: "accepted as step \(step.name) of run \(run.id.uuidString.lowercased())"), in: db)
                events.append(Event(job: job, transition: transition))
                try db.execute(sql: "INSERT INTO runStep (runID, name, jobID, needs, taskCount, position, directory, outputsJSON) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               arguments: [run.id.uuidString, step.name, job.id.uuidString, step.needs.joined(separator: ","), step.taskCount,
                                           position, step.directory, String(decoding: try JSONEncoder().encode(step.outputs), as: UTF8.self)])
            }
            let insertTask = try db.cachedStatement(sql: """
                INSERT INTO runTask (runID, step, taskIndex, sampleID, state, script) VALUES (?, ?, ?, ?, ?, ?)
                """)
            for (task, script) in new.tasks {
                try insertTask.execute(arguments: [run.id.uuidString, task.step, task.index, task.sampleID, task.state.rawValue, script])
            }
            if let key = idempotencyKey {
                try db.execute(sql: "INSERT INTO runIdempotencyKey (researchGroup, key, requestHash, runID) VALUES (?, ?, ?, ?)",
                               arguments: [run.researchGroup, key, requestHash, run.id.uuidString])
            }
            return .created(run)
        }
        notify(events)
        if case .created(let run) = insertion {
            notifyTasks(new.tasks.map { TaskChange(group: run.researchGroup, pipeline: run.pipelineName, step: $0.task.step, from: nil, to: $0.task.state, runSeconds: nil) })
        }
        return insertion
    }

    public func run(_ id: UUID) throws -> Run? {
        try pool.read { db in try Self.run(id.uuidString, in: db) }
    }

    private static func run(_ id: String, in db: Database) throws -> Run? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id]) else { return nil }
        return Self.run(row)
    }

    private static func run(_ row: Row) -> Run {
        Run(id: UUID(uuidString: row["id"])!, pipelineName: row["pipelineName"], pipelineVersion: row["pipelineVersion"],
            researchGroup: row["researchGroup"], cluster: row["cluster"], description: row["description"],
            parametersJSON: row["parametersJSON"], samplesJSON: row["samplesJSON"], runDirectory: row["runDirectory"],
            parallelLimit: row["parallelLimit"], createdAt: Date(timeIntervalSinceReferenceDate: row["createdAt"]),
            cancelRequestedAt: (row["cancelRequestedAt"] as Double?).map(Date.init(timeIntervalSinceReferenceDate:)),
            tags: tags(fromJSON: row["tagsJSON"]), receivedRequestJSON: row["receivedRequestJSON"])
    }

    /// A run's tags as stored: a JSON object of text values, keys sorted.
    static func tagsJSON(_ tags: [String: String]) -> String {
        JSONValue.object(tags.mapValues(JSONValue.string)).jsonText
    }

    static func tags(fromJSON text: String) -> [String: String] {
        guard let object = (try? JSONValue.parse(text))?.objectValue else { return [:] }
        return object.compactMapValues { if case .string(let value) = $0 { value } else { nil } }
    }

    /// Records that a person cancelled the run (the first request's time is kept).
    public func requestCancel(of runID: UUID, at now: Date) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE run SET cancelRequestedAt = coalesce(cancelRequestedAt, ?) WHERE id = ?",
                           arguments: [now.timeIntervalSinceReferenceDate, runID.uuidString])
        }
    }

    /// Jobs of open steps of a cluster's runs that a person cancelled: what the reconciler records as
    /// cancelled when the scheduler ends them for a cancelled dependency.
    public func openStepsOfCancelledRuns(cluster: String) throws -> Set<UUID> {
        let states = Self.openStates.map { _ in "?" }.joined(separator: ", ")
        return try pool.read { db in
            let sql = """
                SELECT s.jobID FROM run r JOIN runStep s ON s.runID = r.id JOIN job j ON j.id = s.jobID
                WHERE r.cancelRequestedAt IS NOT NULL AND r.cluster = ? AND j.state IN (\(states))
                """
            return Set(try String.fetchAll(db, sql: sql, arguments: StatementArguments([cluster] + Self.openStates)).compactMap(UUID.init(uuidString:)))
        }
    }

    /// A run's steps in catalog order, each with its job (read without scripts).
    public func steps(of runID: UUID) throws -> [(step: RunStep, job: Job)] {
        try pool.read { db in try Self.steps(of: [runID.uuidString], in: db)[runID] ?? [] }
    }

    private static func steps(of runIDs: [String], in db: Database) throws -> [UUID: [(step: RunStep, job: Job)]] {
        guard !runIDs.isEmpty else { return [:] }
        let marks = runIDs.map { _ in "?" }.joined(separator: ", ")
        // The job's columns first, in JobRecord's order (it reads rows by position), then the step's.
        let jobColumns = JobRecord.columns.map { ["parametersJSON", "intentJSON"].contains($0) ? "'' AS \($0)" : "j.\($0)" }
        let sql = """
            SELECT \(jobColumns.joined(separator: ", ")), s.runID, s.name, s.needs, s.taskCount, s.directory, s.outputsJSON
            FROM runStep s JOIN job j ON j.id = s.jobID WHERE s.runID IN (\(marks)) ORDER BY s.runID, s.position
            """
        var result: [UUID: [(step: RunStep, job: Job)]] = [:]
        let base = JobRecord.columns.count
        for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(runIDs)) {
            let job = try JobRecord(row: row).job
            let runID = UUID(uuidString: row[base])!
            let needs: String = row[base + 2]
            let outputs: String = row[base + 5]
            let step = RunStep(runID: runID, name: row[base + 1], jobID: job.id, needs: needs.isEmpty ? [] : needs.split(separator: ",").map(String.init),
                               taskCount: row[base + 3], directory: row[base + 4],
                               outputs: (try? JSONDecoder().decode([RunOutput].self, from: Data(outputs.utf8))) ?? [])
            result[runID, default: []].append((step, job))
        }
        return result
    }

    /// Every run of a group (of all groups: nil) with its steps' states and failure kinds in step order,
    /// and whether a person cancelled it: what GA4GH WES's per-state counts need, and nothing more (no
    /// parameters, sample sheets or scripts). One read, in the order of the run index.
    public func stepOutcomes(group: String?) throws -> [(runID: UUID, cancelRequested: Bool, steps: [(state: JobState, failureKind: String?)])] {
        try pool.read { db in
            let sql = """
                SELECT r.id, r.cancelRequestedAt IS NOT NULL, j.state, j.failureKind FROM run r
                JOIN runStep s ON s.runID = r.id JOIN job j ON j.id = s.jobID
                \(group == nil ? "" : "WHERE r.researchGroup = ?") ORDER BY r.researchGroup, r.createdAt, r.id, s.position
                """
            var result: [(runID: UUID, cancelRequested: Bool, steps: [(state: JobState, failureKind: String?)])] = []
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(group.map { [$0] } ?? []))
            while let row = try rows.next() {
                let id: String = row[0]
                guard let runID = UUID(uuidString: id), let state = JobState(rawValue: row[2]) else { continue }
                let step = (state: state, failureKind: row[3] as String?)
                if result.last?.runID == runID { result[result.count - 1].steps.append(step) } else {
                    result.append((runID, row[1], [step]))
                }
            }
            return result
        }
    }

    /// The step a job carries, when it is one.
    public func step(ofJob jobID: UUID) throws -> RunStep? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT runID, name, needs, taskCount, directory FROM runStep WHERE jobID = ?", arguments: [jobID.uuidString]) else { return nil }
            let needs: String = row[2]
            return RunStep(runID: UUID(uuidString: row[0])!, name: row[1], jobID: jobID,
                           needs: needs.isEmpty ? [] : needs.split(separator: ",").map(String.init), taskCount: row[3], directory: row[4])
        }
    }

    /// Filters for listing runs.
    public struct RunFilter: Sendable {
        public var researchGroup: String?
        public var pipeline: String?
        public init(researchGroup: String? = nil, pipeline: String? = nil) {
            self.researchGroup = researchGroup
            self.pipeline = pipeline
        }
    }

    /// A page of runs, newest first, with their steps, and the cursor of the next page.
    public func runs(_ filter: RunFilter, after cursor: (createdAt: Date, id: UUID)? = nil, limit: Int = 50)
        throws -> (runs: [(run: Run, steps: [(step: RunStep, job: Job)])], next: (createdAt: Date, id: UUID)?) {
        try pool.read { db in
            var conditions: [String] = [], arguments: [any DatabaseValueConvertible] = []
            if let group = filter.researchGroup { conditions.append("researchGroup = ?"); arguments.append(group) }
            if let pipeline = filter.pipeline { conditions.append("pipelineName = ?"); arguments.append(pipeline) }
            if let cursor {
                conditions.append("(createdAt < ? OR (createdAt = ? AND id < ?))")
                arguments += [cursor.createdAt.timeIntervalSinceReferenceDate, cursor.createdAt.timeIntervalSinceReferenceDate, cursor.id.uuidString]
            }
            let sql = "SELECT * FROM run \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY createdAt DESC, id DESC LIMIT ?"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments + [limit + 1]))
            let runs = rows.prefix(limit).map(Self.run)
            let steps = try Self.steps(of: runs.map { $0.id.uuidString }, in: db)
            let next = rows.count > limit ? runs.last.map { ($0.createdAt, $0.id) } : nil
            return (runs.map { ($0, steps[$0.id] ?? []) }, next)
        }
    }

    /// A run's tasks, in step order then index, optionally of one step or some states.
    public func tasks(of runID: UUID, step: String? = nil, states: [JobState]? = nil) throws -> [RunTask] {
        try pool.read { db in
            var sql = """
                SELECT t.runID, t.step, t.taskIndex, t.sampleID, t.state, t.failureKind, t.exitCode, t.nativeJobID, t.startedAt, t.finishedAt
                FROM runTask t JOIN runStep s ON s.runID = t.runID AND s.name = t.step WHERE t.runID = ?
                """
            var arguments: [any DatabaseValueConvertible] = [runID.uuidString]
            if let step { sql += " AND t.step = ?"; arguments.append(step) }
            if let states { sql += " AND t.state IN (\(states.map { _ in "?" }.joined(separator: ", ")))"; arguments += states.map(\.rawValue) }
            sql += " ORDER BY s.position, t.taskIndex"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.task)
        }
    }

    private static func task(_ row: Row) -> RunTask {
        var task = RunTask(runID: UUID(uuidString: row[0])!, step: row[1], index: row[2], sampleID: row[3],
                           state: JobState(rawValue: row[4]) ?? .lost)
        task.failureKind = row[5]
        task.exitCode = row[6]
        task.nativeJobID = row[7]
        task.startedAt = (row[8] as Double?).map(Date.init(timeIntervalSinceReferenceDate:))
        task.finishedAt = (row[9] as Double?).map(Date.init(timeIntervalSinceReferenceDate:))
        return task
    }

    /// The rendered scripts of a step's tasks, by index: what is written to the run directory before
    /// the array is submitted (again, after a crash).
    public func taskScripts(of runID: UUID, step: String) throws -> [Int: String] {
        try pool.read { db in
            var scripts: [Int: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT taskIndex, script FROM runTask WHERE runID = ? AND step = ?", arguments: [runID.uuidString, step]) {
                scripts[row[0]] = row[1]
            }
            return scripts
        }
    }

    /// What a resume changes in one step: its job is replaced by a new attempt (`job`, accepted, with
    /// its intent), and the tasks to run again go back to `accepted`, their scripts carrying the new id.
    public struct StepAttempt: Sendable {
        public var step: String
        public var previousJobID: UUID
        public var job: Job
        public var rerunTasks: [Int]

        public init(step: String, previousJobID: UUID, job: Job, rerunTasks: [Int]) {
            self.step = step
            self.previousJobID = previousJobID
            self.job = job
            self.rerunTasks = rerunTasks
        }
    }

    /// Records a resume in one transaction: every replaced step's new job (with its first transition),
    /// the step pointing at it, and its tasks to run again reset, their scripts moved to the new id. A
    /// step's job may no longer be the one the caller read (a concurrent resume): the whole resume is
    /// refused then, and nothing changes.
    public func resume(_ runID: UUID, attempts: [StepAttempt], source: String = "api") throws {
        var events: [Event] = []
        var taskChanges: [TaskChange] = []
        try pool.write { db in
            events = []
            taskChanges = []
            // A resumed run runs again: a later dependency failure is a failure, not the old cancel.
            try db.execute(sql: "UPDATE run SET cancelRequestedAt = NULL WHERE id = ?", arguments: [runID.uuidString])
            for attempt in attempts {
                let current = try String.fetchOne(db, sql: "SELECT jobID FROM runStep WHERE runID = ? AND name = ?", arguments: [runID.uuidString, attempt.step])
                guard current == attempt.previousJobID.uuidString else { throw StoreError.notFound(attempt.previousJobID) }
                try JobRecord(attempt.job).insertRow(in: db)
                let transition = try Self.record(JobTransition(jobID: attempt.job.id, fromState: nil, toState: attempt.job.state, at: attempt.job.createdAt, source: source,
                                                               reason: "accepted as step \(attempt.step) of run \(runID.uuidString.lowercased()), resumed (replaces job \(attempt.previousJobID.uuidString.lowercased()))"), in: db)
                events.append(Event(job: attempt.job, transition: transition))
                try db.execute(sql: """
                    UPDATE runStep SET jobID = ?, previousJobIDs = CASE previousJobIDs WHEN '' THEN ? ELSE previousJobIDs || ',' || ? END
                    WHERE runID = ? AND name = ?
                    """, arguments: [attempt.job.id.uuidString, attempt.previousJobID.uuidString, attempt.previousJobID.uuidString, runID.uuidString, attempt.step])
                let reset = try db.cachedStatement(sql: """
                    UPDATE runTask SET state = 'accepted', failureKind = NULL, exitCode = NULL, nativeJobID = NULL, startedAt = NULL, finishedAt = NULL,
                                       script = replace(script, ?, ?)
                    WHERE runID = ? AND step = ? AND taskIndex = ?
                    """)
                let owner = try Self.owner(of: runID, in: db)
                let stateOfTask = try db.cachedStatement(sql: "SELECT state FROM runTask WHERE runID = ? AND step = ? AND taskIndex = ?")
                for index in attempt.rerunTasks {
                    let before = try String.fetchOne(stateOfTask, arguments: [runID.uuidString, attempt.step, index]).flatMap(JobState.init(rawValue:))
                    try reset.execute(arguments: [attempt.previousJobID.uuidString.lowercased(), attempt.job.id.uuidString.lowercased(), runID.uuidString, attempt.step, index])
                    taskChanges.append(TaskChange(group: owner.group, pipeline: owner.pipeline, step: attempt.step, from: before, to: .accepted, runSeconds: nil))
                }
            }
        }
        notify(events)
        notifyTasks(taskChanges)
    }

    /// Task counts by group, pipeline, step and state over every run: the task gauges at start.
    public func taskStateCounts() throws -> [(group: String, pipeline: String, step: String, state: JobState, count: Int)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.researchGroup, r.pipelineName, t.step, t.state, COUNT(*) FROM runTask t JOIN run r ON r.id = t.runID
                GROUP BY r.researchGroup, r.pipelineName, t.step, t.state
                """).map { ($0[0], $0[1], $0[2], JobState(rawValue: $0[3]) ?? .lost, $0[4]) }
        }
    }

    /// How many tasks of each step are in each state.
    public func taskCounts(of runID: UUID) throws -> [String: [JobState: Int]] {
        try pool.read { db in
            var counts: [String: [JobState: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT step, state, COUNT(*) FROM runTask WHERE runID = ? GROUP BY step, state", arguments: [runID.uuidString]) {
                counts[row[0], default: [:]][JobState(rawValue: row[1]) ?? .lost] = row[2]
            }
            return counts
        }
    }

    /// Moves a step's tasks that are still `accepted` to `queued`, once their array is submitted (a task
    /// the reconciler has seen further along keeps what it saw).
    public func markTasksSubmitted(of runID: UUID, step: String) throws {
        let changes = try pool.write { db -> [TaskChange] in
            let owner = try Self.owner(of: runID, in: db)
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runTask WHERE runID = ? AND step = ? AND state = 'accepted'", arguments: [runID.uuidString, step]) ?? 0
            try db.execute(sql: "UPDATE runTask SET state = 'queued' WHERE runID = ? AND step = ? AND state = 'accepted'", arguments: [runID.uuidString, step])
            return Array(repeating: TaskChange(group: owner.group, pipeline: owner.pipeline, step: step, from: .accepted, to: .queued, runSeconds: nil), count: count)
        }
        notifyTasks(changes)
    }

    /// The group and pipeline of a run, for task changes.
    private static func owner(of runID: UUID, in db: Database) throws -> (group: String, pipeline: String) {
        let row = try Row.fetchOne(db, sql: "SELECT researchGroup, pipelineName FROM run WHERE id = ?", arguments: [runID.uuidString])
        return (row?["researchGroup"] ?? "unknown", row?["pipelineName"] ?? "unknown")
    }

    /// Records what the scheduler says of a step's tasks; a task already ended keeps its end.
    public func updateTasks(of runID: UUID, step: String, _ updates: [RunTask]) throws {
        guard !updates.isEmpty else { return }
        let changes = try pool.write { db -> [TaskChange] in
            let owner = try Self.owner(of: runID, in: db)
            let current = try db.cachedStatement(sql: "SELECT state FROM runTask WHERE runID = ? AND step = ? AND taskIndex = ?")
            let statement = try db.cachedStatement(sql: """
                UPDATE runTask SET state = ?, failureKind = ?, exitCode = ?, nativeJobID = ?, startedAt = ?, finishedAt = ?
                WHERE runID = ? AND step = ? AND taskIndex = ?
                """)
            var changes: [TaskChange] = []
            for task in updates {
                // A task that has ended keeps its end (a resume resets it through `resume`, not here).
                guard let before = try String.fetchOne(current, arguments: [runID.uuidString, step, task.index]).flatMap(JobState.init(rawValue:)),
                      !before.isTerminal else { continue }
                try statement.execute(arguments: [task.state.rawValue, task.failureKind, task.exitCode, task.nativeJobID,
                                                  task.startedAt?.timeIntervalSinceReferenceDate, task.finishedAt?.timeIntervalSinceReferenceDate,
                                                  runID.uuidString, step, task.index])
                if before != task.state {
                    var ran: Double?
                    if task.state.isTerminal, let started = task.startedAt, let finished = task.finishedAt { ran = max(0, finished.timeIntervalSince(started)) }
                    changes.append(TaskChange(group: owner.group, pipeline: owner.pipeline, step: step, from: before, to: task.state, runSeconds: ran))
                }
            }
            return changes
        }
        notifyTasks(changes)
    }

    /// Open array steps of a cluster, by their job id: what the reconciler folds task records for.
    public func openArraySteps(cluster: String) throws -> [UUID: RunStep] {
        let states = Self.openStates.map { _ in "?" }.joined(separator: ", ")
        return try pool.read { db in
            var steps: [UUID: RunStep] = [:]
            let sql = """
                SELECT s.runID, s.name, s.needs, s.taskCount, s.directory, s.jobID FROM runStep s JOIN job j ON j.id = s.jobID
                WHERE j.cluster = ? AND s.taskCount IS NOT NULL AND j.state IN (\(states))
                """
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments([cluster] + Self.openStates)) {
                let needs: String = row[2]
                let jobID = UUID(uuidString: row[5])!
                steps[jobID] = RunStep(runID: UUID(uuidString: row[0])!, name: row[1], jobID: jobID,
                                       needs: needs.isEmpty ? [] : needs.split(separator: ",").map(String.init), taskCount: row[3], directory: row[4])
            }
            return steps
        }
    }
}
