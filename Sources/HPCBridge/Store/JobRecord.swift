import Foundation
import GRDB

/// The database row of a job.
struct JobRecord: FetchableRecord, TableRecord {
    static let databaseTableName = "job"
    var id: String
    var state: String
    var failureKind: String?
    var failureReason: String?
    var exitCode: Int?
    var exitSignal: Int?
    var pipelineName: String
    var pipelineVersion: String
    var parametersJSON: String
    var researchGroup: String
    var description: String?
    var cluster: String
    var nativeJobID: String?
    var createdAt: Double
    var submittedAt: Double?
    var startedAt: Double?
    var finishedAt: Double?
    var scriptDigest: String
    var intentJSON: String
    var requeueCount: Int
    var vanishedAt: Double?

    init(_ job: Job) {
        id = job.id.uuidString
        state = job.state.rawValue
        failureKind = job.failureKind
        failureReason = job.failureReason
        exitCode = job.exitCode
        exitSignal = job.exitSignal
        pipelineName = job.pipelineName
        pipelineVersion = job.pipelineVersion
        parametersJSON = job.parametersJSON
        researchGroup = job.researchGroup
        description = job.description
        cluster = job.cluster
        nativeJobID = job.nativeJobID
        createdAt = job.createdAt.timeIntervalSinceReferenceDate
        submittedAt = job.submittedAt?.timeIntervalSinceReferenceDate
        startedAt = job.startedAt?.timeIntervalSinceReferenceDate
        finishedAt = job.finishedAt?.timeIntervalSinceReferenceDate
        scriptDigest = job.scriptDigest
        intentJSON = job.intentJSON
        requeueCount = job.requeueCount
        vanishedAt = job.vanishedAt?.timeIntervalSinceReferenceDate
    }

    /// Rows are read and written column by column: GRDB's Codable path encodes and decodes through
    /// generic containers, which made up most of a reconcile cycle's time at 10,000 jobs (BENCHMARKS.md).
    /// Columns are read by position: every query selects `columns` in this order (`selection`,
    /// `selectSQL`), and a lookup by name costs a case-insensitive search per column per row.
    init(row: Row) throws {
        id = row[0]
        state = row[1]
        failureKind = row[2]
        failureReason = row[3]
        exitCode = row[4]
        exitSignal = row[5]
        pipelineName = row[6]
        pipelineVersion = row[7]
        parametersJSON = row[8]
        researchGroup = row[9]
        description = row[10]
        cluster = row[11]
        nativeJobID = row[12]
        createdAt = row[13]
        submittedAt = row[14]
        startedAt = row[15]
        finishedAt = row[16]
        scriptDigest = row[17]
        intentJSON = row[18]
        requeueCount = row[19]
        vanishedAt = row[20]
    }

    /// The columns as a job is read, and this row's values in the same order. All but `intentJSON` are
    /// the `job` table's; the intent is in `jobIntent` (migration v8), read with the row by a subquery.
    static let columns = ["id", "state", "failureKind", "failureReason", "exitCode", "exitSignal", "pipelineName", "pipelineVersion",
                          "parametersJSON", "researchGroup", "description", "cluster", "nativeJobID", "createdAt", "submittedAt",
                          "startedAt", "finishedAt", "scriptDigest", "intentJSON", "requeueCount", "vanishedAt"]
    var values: [(any DatabaseValueConvertible)?] {
        [id, state, failureKind, failureReason, exitCode, exitSignal, pipelineName, pipelineVersion, parametersJSON, researchGroup,
         description, cluster, nativeJobID, createdAt, submittedAt, startedAt, finishedAt, scriptDigest, intentJSON, requeueCount, vanishedAt]
    }
    /// Where `intentJSON` is in `columns` and `values`.
    static let intentIndex = columns.firstIndex(of: "intentJSON")!
    /// The `job` table's own columns (all but the intent), as they are inserted.
    static let tableColumns = columns.filter { $0 != "intentJSON" }

    // Hand-written SQL through SQLite's statement cache: the query interface builds and authorizes a new
    // statement per row, which dominated the reconciler's one-transaction batch of updates (BENCHMARKS.md).
    /// The whole job, its intent included, as a select list over the table `job`.
    static let selection = columns.map {
        $0 == "intentJSON" ? "IFNULL((SELECT i.intentJSON FROM jobIntent i WHERE i.jobID = job.id), '') AS intentJSON" : $0
    }.joined(separator: ", ")
    static let selectSQL = "SELECT \(selection) FROM job WHERE id = ?"
    /// The columns with the two large ones (parameters and the rendered script) read as empty text.
    static let columnsWithoutScripts = columns.map { ["parametersJSON", "intentJSON"].contains($0) ? "'' AS \($0)" : $0 }.joined(separator: ", ")
    static let selectWithoutScriptsSQL = "SELECT \(columnsWithoutScripts) FROM job WHERE id = ?"
    /// The columns with the rendered script (the largest) read as empty text.
    static let columnsWithoutIntent = columns.map { $0 == "intentJSON" ? "'' AS \($0)" : $0 }.joined(separator: ", ")
    /// The next change position (see migration v7): above every row's, by the `job_change` index.
    static let nextChangeSequenceSQL = "(SELECT IFNULL(MAX(changeSequence), 0) + 1 FROM job)"
    static let insertSQL = "INSERT INTO job (\(tableColumns.joined(separator: ", ")), changeSequence) VALUES (\(tableColumns.map { _ in "?" }.joined(separator: ", ")), \(nextChangeSequenceSQL))"
    static let writeIntentSQL = "INSERT INTO jobIntent (jobID, intentJSON) VALUES (?, ?) ON CONFLICT (jobID) DO UPDATE SET intentJSON = excluded.intentJSON"

    static func find(_ id: String, in db: Database, reading: JobStore.Reading = .whole) throws -> JobRecord? {
        try JobRecord.fetchOne(db.cachedStatement(sql: reading == .whole ? selectSQL : selectWithoutScriptsSQL), arguments: [id])
    }

    func insertRow(in db: Database) throws {
        var row = values
        row.remove(at: Self.intentIndex)
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: StatementArguments(row))
        try db.cachedStatement(sql: Self.writeIntentSQL).execute(arguments: [id, intentJSON])
    }

    /// Writes only the columns that differ from `old` (nothing when none does): SQLite rewrites the
    /// entries of every index whose column is assigned, even to its old value, and a reconcile batch
    /// changes one or two columns of thousands of rows.
    func updateRow(in db: Database, changedFrom old: JobRecord) throws {
        let new = values.map { $0?.databaseValue ?? .null }
        let previous = old.values.map { $0?.databaseValue ?? .null }
        let changed = (1..<Self.columns.count).filter { new[$0] != previous[$0] }
        guard !changed.isEmpty else { return }
        // The intent has its own row; the job's row still takes the change's position.
        let columns = changed.filter { $0 != Self.intentIndex }
        if columns.count < changed.count { try db.cachedStatement(sql: Self.writeIntentSQL).execute(arguments: [id, intentJSON]) }
        let sql = "UPDATE job SET \(columns.map { "\(Self.columns[$0]) = ?, " }.joined())changeSequence = \(Self.nextChangeSequenceSQL) WHERE id = ?"
        try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(columns.map { new[$0] } + [id.databaseValue]))
    }

    var job: Job {
        var job = Job(id: UUID(uuidString: id)!, state: JobState(rawValue: state) ?? .lost, pipelineName: pipelineName,
                      pipelineVersion: pipelineVersion, parametersJSON: parametersJSON, researchGroup: researchGroup,
                      description: description, cluster: cluster, createdAt: Date(timeIntervalSinceReferenceDate: createdAt), scriptDigest: scriptDigest, intentJSON: intentJSON)
        job.failureKind = failureKind
        job.failureReason = failureReason
        job.exitCode = exitCode
        job.exitSignal = exitSignal
        job.nativeJobID = nativeJobID
        job.submittedAt = submittedAt.map(Date.init(timeIntervalSinceReferenceDate:))
        job.startedAt = startedAt.map(Date.init(timeIntervalSinceReferenceDate:))
        job.finishedAt = finishedAt.map(Date.init(timeIntervalSinceReferenceDate:))
        job.requeueCount = requeueCount
        job.vanishedAt = vanishedAt.map(Date.init(timeIntervalSinceReferenceDate:))
        return job
    }
}
