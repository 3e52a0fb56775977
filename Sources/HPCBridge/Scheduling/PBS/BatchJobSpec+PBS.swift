extension BatchJobSpec {
    /// The qsub options for the array and the dependencies (`-J 0-99%10`, `-W depend=afterok:A:B`), or a
    /// refusal where PBS cannot express the spec. All refusals are final: the same spec fails again.
    ///
    /// OpenPBS's `-J` takes one range `X-Y[:Z]` with X < Y (`parse_subjob_index`), plus `%N` for
    /// `max_run_subjobs`: no list of ranges, no single index. And PBS always deletes a job whose afterok
    /// dependency failed ("Job deleted as result of dependency on job ..."): it cannot leave it waiting.
    func pbsArrayAndDependencyArguments() throws -> [String] {
        var arguments: [String] = []
        if let array {
            guard array.indices.count == 1, let range = array.indices.first else {
                throw SchedulerError(.rejected, operation: "submit", detail: "PBS takes a job array as one range of indices (qsub -J X-Y); \(array.indexList) is not one range, so submit each range as its own array")
            }
            guard range.lowerBound < range.upperBound else {
                throw SchedulerError(.rejected, operation: "submit", detail: "PBS needs at least two indices in a job array (qsub -J X-Y with X < Y); submit the single task \(range.lowerBound) as a plain job")
            }
            arguments += ["-J", "\(range.lowerBound)-\(range.upperBound)" + (array.maxRunning.map { "%\($0)" } ?? "")]
        }
        if !afterOK.isEmpty {
            guard killOnInvalidDependency else {
                throw SchedulerError(.rejected, operation: "submit", detail: "PBS always deletes a job whose afterok dependency fails; it cannot keep the job waiting, as a spec without killOnInvalidDependency asks")
            }
            arguments += ["-W", "depend=afterok:" + afterOK.map(\.rawValue).joined(separator: ":")]
        }
        return arguments
    }
}
