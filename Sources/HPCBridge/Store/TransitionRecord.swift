import Foundation
import GRDB

/// The database row of a transition.
struct TransitionRecord: FetchableRecord, TableRecord {
    static let databaseTableName = "jobTransition"
    var sequence: Int64?
    var jobID: String
    var fromState: String?
    var toState: String
    var at: Double
    var source: String
    var reason: String?

    init(_ t: JobTransition) {
        sequence = t.sequence
        jobID = t.jobID.uuidString
        fromState = t.fromState?.rawValue
        toState = t.toState.rawValue
        at = t.at.timeIntervalSinceReferenceDate
        source = t.source
        reason = t.reason
    }

    /// Column by column, as `JobRecord` (not through Codable's generic containers).
    init(row: Row) throws {
        sequence = row["sequence"]
        jobID = row["jobID"]
        fromState = row["fromState"]
        toState = row["toState"]
        at = row["at"]
        source = row["source"]
        reason = row["reason"]
    }

    static let insertSQL = "INSERT INTO jobTransition (jobID, fromState, toState, at, source, reason) VALUES (?, ?, ?, ?, ?, ?)"
    var insertValues: [(any DatabaseValueConvertible)?] { [jobID, fromState, toState, at, source, reason] }

    var transition: JobTransition {
        var t = JobTransition(jobID: UUID(uuidString: jobID)!, fromState: fromState.flatMap(JobState.init(rawValue:)),
                              toState: JobState(rawValue: toState) ?? .lost, at: Date(timeIntervalSinceReferenceDate: at), source: source, reason: reason)
        t.sequence = sequence
        return t
    }
}
