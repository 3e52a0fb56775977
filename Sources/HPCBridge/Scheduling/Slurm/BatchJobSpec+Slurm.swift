extension BatchJobSpec {
    /// The dependency in Slurm's form (`afterok:123:456`, both paths), nil when there is none.
    var slurmDependency: String? {
        afterOK.isEmpty ? nil : "afterok:" + afterOK.map(\.rawValue).joined(separator: ":")
    }

    /// Refuses, before any controller call, what Slurm could not take as asked: an array index list over
    /// 4 KiB (Slurm would answer ESLURM_PATHNAME_TOO_LONG) and dependencies on ids that are not Slurm
    /// job ids (`123`, or `123_4` for one task). Both are final: the same spec would fail again.
    func checkForSlurm() throws {
        if let array, !array.fitsSlurmIndexListLimit {
            throw SchedulerError(.rejected, operation: "submit", detail: "the job array's index list is \(array.indexList.utf8.count) characters; Slurm takes at most \(JobArray.slurmIndexListLimit) in one submission, so split the tasks over several arrays")
        }
        for id in afterOK {
            let parts = id.rawValue.split(separator: "_", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else {
                throw SchedulerError(.rejected, operation: "submit", detail: "the dependency \(JSONValue.quote(id.rawValue)) is not a Slurm job id (123, or 123_4 for one array task)")
            }
        }
    }
}
