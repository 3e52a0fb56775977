/// Whether a step can be submitted now, and on which parents' scheduler jobs it must wait (`afterok`).
///
/// Slurm counts a dependency on a job it no longer knows (purged after MinJobAge, or never existed) as
/// satisfied: an `afterok` child of a failed, purged parent runs (FIELD-NOTES, checked live). So a
/// dependency is placed only on parents the controller still lists; a parent that has ended is decided
/// from the store (completed: no dependency; failed, cancelled or lost: the step is not submitted).
public enum RunDependencies {
    public enum Decision: Sendable, Equatable {
        /// Submit now, after these parents' jobs (empty: nothing left to wait for).
        case submit(afterOK: [NativeJobID])
        /// A parent is not submitted yet, or its outcome is not known: try again later.
        case wait(reason: String)
        /// A parent ended without completing: this step can never run.
        case blocked(reason: String)
    }

    /// `parents` are the steps this one needs, with their jobs as stored; `known` says whether the
    /// controller still lists a scheduler job (for a step just submitted by the caller: true).
    public static func decide(parents: [(name: String, job: Job)], known: (NativeJobID) -> Bool) -> Decision {
        var afterOK: [NativeJobID] = []
        var waiting: [String] = []
        for (name, job) in parents {
            switch job.state {
            case .completed:
                continue
            case .failed, .cancelled, .lost:
                return .blocked(reason: "step \(name) \(job.state.rawValue)\(job.failureReason.map { ": \($0)" } ?? ""), so this step was not submitted")
            case .accepted:
                waiting.append("step \(name) is not submitted yet")
            case .queued, .held, .running, .suspended:
                guard let native = job.nativeJobID.map({ NativeJobID($0) }) else {
                    waiting.append("step \(name) has no scheduler id yet")
                    continue
                }
                if known(native) { afterOK.append(native) } else { waiting.append("the controller does not list step \(name)'s job \(native); waiting for its outcome") }
            }
        }
        return waiting.isEmpty ? .submit(afterOK: afterOK) : .wait(reason: waiting.joined(separator: "; "))
    }
}
