import Foundation
import HPCBridge
import HPCBridgeAPI
import OpenAPIRuntime

/// A job as the contract's `Job` schema, written straight from the stored job and its history: the
/// answer to a submission (201, or 200 for a retry), which `SubmitRequestMiddleware` puts in place of
/// the body the generated code encoded.
///
/// Why by hand: the generated path builds `Components.Schemas.Job`, decodes the stored parameters into
/// the runtime's untyped containers and encodes it all through JSONEncoder, 5 % of a submission's CPU.
/// The parameters are stored as canonical JSON text already, and go in as they are.
///
/// The bytes are what the runtime writes for the same job (sorted keys, slashes unescaped, dates through
/// the same transcoder, numbers as JSONEncoder writes them; `JobJSONTests` compares the two), except
/// inside `parameters`, where the stored text may escape a character JSONEncoder leaves as it is (DEL,
/// U+2028) or order non-ASCII keys differently: the same JSON value, other bytes.
enum JobJSON {
    /// The job with its queue wait and run time worked out at `now`.
    static func bytes(of job: Job, transitions: [JobTransition], now: Date, dates: any DateTranscoder) throws -> [UInt8] {
        var object = JSONObjectWriter(capacity: job.parametersJSON.utf8.count + 512)
        func date(_ name: StaticString, _ value: Date?, in object: inout JSONObjectWriter) throws {
            object.string(name, try value.map(dates.encode))
        }
        let (queueWait, run) = JobAPI.durations(submittedAt: job.submittedAt, startedAt: job.startedAt, finishedAt: job.finishedAt,
                                                ended: job.state.isTerminal, now: now)
        // Members in sorted order, optional ones only when set (as the generated encoder writes them).
        object.string("cluster", job.cluster)
        try date("created_at", job.createdAt, in: &object)
        object.string("description", job.description)
        object.integer("exit_code", job.exitCode)
        object.integer("exit_signal", job.exitSignal)
        object.string("failure_kind", job.failureKind.flatMap { Components.Schemas.FailureKind(rawValue: $0)?.rawValue })
        object.string("failure_reason", job.failureReason)
        try date("finished_at", job.finishedAt, in: &object)
        object.string("id", job.id.uuidString.lowercased())
        object.string("native_job_id", job.nativeJobID)
        object.json("parameters", job.parametersJSON.utf8)
        object.string("pipeline_name", job.pipelineName)
        object.string("pipeline_version", job.pipelineVersion)
        object.json("queue_wait_seconds", queueWait.map { EncodedJobs.jsonNumber($0).utf8 })
        object.integer("requeue_count", job.requeueCount)
        object.string("research_group", job.researchGroup)
        object.json("run_seconds", run.map { EncodedJobs.jsonNumber($0).utf8 })
        object.string("script_digest", job.scriptDigest)
        try date("started_at", job.startedAt, in: &object)
        object.string("state", (Components.Schemas.JobState(rawValue: job.state.rawValue) ?? .lost).rawValue)
        try date("submitted_at", job.submittedAt, in: &object)
        var list: [UInt8] = [UInt8(ascii: "[")]
        for (index, transition) in transitions.enumerated() {
            if index > 0 { list.append(UInt8(ascii: ",")) }
            var member = JSONObjectWriter()
            try date("at", transition.at, in: &member)
            member.string("from_state", transition.fromState.map { (Components.Schemas.JobState(rawValue: $0.rawValue) ?? .lost).rawValue })
            member.string("reason", transition.reason)
            member.integer("sequence", transition.sequence)
            member.string("source", (Components.Schemas.Transition.SourcePayload(rawValue: transition.source) ?? .reconciler).rawValue)
            member.string("to_state", (Components.Schemas.JobState(rawValue: transition.toState.rawValue) ?? .lost).rawValue)
            list.append(contentsOf: member.finished())
        }
        list.append(UInt8(ascii: "]"))
        object.json("transitions", list)
        return object.finished()
    }
}
