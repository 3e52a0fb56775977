import Foundation
import Synchronization

/// Submissions whose outcome the service does not know yet, shared by the API's immediate submission
/// and the reconciler, so a job is never submitted twice.
///
/// Two cases need this. A call still in flight (a hung controller holds it for libslurm's timeout, and
/// the API stops waiting after two seconds) may yet succeed: the reconciler must not submit that job
/// again meanwhile. And a call that failed with a timeout may have reached the controller anyway (a
/// stopped slurmctld reads the request from its listen backlog once it runs again): the reconciler
/// resubmits such a job only after two snapshots taken after the failure do not list it by its tag.
public final class SubmissionAttempts: Sendable {
    enum Attempt: Equatable {
        case inFlight
        /// Ended without an answer at `at`; `absences` snapshots started after it did not list the job.
        case unanswered(at: Date, absences: Int)
    }

    /// Snapshots without the job, after an unanswered attempt, before it is submitted again.
    public static let absencesBeforeResubmission = 2

    private let attempts = Mutex<[UUID: Attempt]>([:])

    public init() {}

    /// Marks a submission started; false when one is already in flight for this job.
    func begin(_ id: UUID) -> Bool {
        attempts.withLock { attempts in
            if attempts[id] == .inFlight { return false }
            attempts[id] = .inFlight
            return true
        }
    }

    /// The call ended with an answer (an id, or a refusal): nothing is uncertain any more.
    func answered(_ id: UUID) {
        _ = attempts.withLock { $0.removeValue(forKey: id) }
    }

    /// The call ended without an answer (timeout, controller unreachable): it may have reached the controller.
    func unanswered(_ id: UUID, at now: Date) {
        attempts.withLock { $0[id] = .unanswered(at: now, absences: 0) }
    }

    /// The job has its scheduler id now (adopted or recorded): forget it.
    public func settled(_ id: UUID) {
        answered(id)
    }

    public func isInFlight(_ id: UUID) -> Bool {
        attempts.withLock { $0[id] == .inFlight }
    }

    /// Called by the reconciler for an accepted job that a snapshot started at `snapshotStartedAt` did not
    /// list: true when it may be submitted (no attempt in flight, and an unanswered one has been absent
    /// from enough snapshots taken after it).
    public func mayResubmit(_ id: UUID, absentFromSnapshotStartedAt snapshotStartedAt: Date) -> Bool {
        attempts.withLock { attempts in
            switch attempts[id] {
            case nil:
                return true
            case .inFlight:
                return false
            case .unanswered(let at, let absences):
                guard snapshotStartedAt > at else { return false }
                let seen = absences + 1
                attempts[id] = .unanswered(at: at, absences: seen)
                return seen >= Self.absencesBeforeResubmission
            }
        }
    }
}
