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
        var out: [UInt8] = []
        out.reserveCapacity(job.parametersJSON.utf8.count + 512 + transitions.count * 160)
        var first = true
        func key(_ name: StaticString) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            JSONText.appendKey(name, to: &out)
        }
        func text(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONText.appendString(value, to: &out)
        }
        func date(_ name: StaticString, _ value: Date?) throws {
            guard let value else { return }
            text(name, try dates.encode(value))
        }
        func number(_ name: StaticString, _ value: Int?) {
            guard let value else { return }
            key(name)
            out.append(contentsOf: String(value).utf8)
        }
        let ended = job.state.isTerminal
        let (queueWait, run) = JobAPI.durations(submittedAt: job.submittedAt, startedAt: job.startedAt, finishedAt: job.finishedAt,
                                                ended: ended, now: now)
        // Members in sorted order, optional ones only when set (as the generated encoder writes them).
        text("cluster", job.cluster)
        try date("created_at", job.createdAt)
        text("description", job.description)
        number("exit_code", job.exitCode)
        number("exit_signal", job.exitSignal)
        text("failure_kind", job.failureKind.flatMap { Components.Schemas.FailureKind(rawValue: $0)?.rawValue })
        text("failure_reason", job.failureReason)
        try date("finished_at", job.finishedAt)
        text("id", job.id.uuidString.lowercased())
        text("native_job_id", job.nativeJobID)
        key("parameters")
        out.append(contentsOf: job.parametersJSON.utf8)
        text("pipeline_name", job.pipelineName)
        text("pipeline_version", job.pipelineVersion)
        if let queueWait {
            key("queue_wait_seconds")
            out.append(contentsOf: EncodedJobs.jsonNumber(queueWait).utf8)
        }
        number("requeue_count", job.requeueCount)
        text("research_group", job.researchGroup)
        if let run {
            key("run_seconds")
            out.append(contentsOf: EncodedJobs.jsonNumber(run).utf8)
        }
        text("script_digest", job.scriptDigest)
        try date("started_at", job.startedAt)
        text("state", (Components.Schemas.JobState(rawValue: job.state.rawValue) ?? .lost).rawValue)
        try date("submitted_at", job.submittedAt)
        key("transitions")
        out.append(UInt8(ascii: "["))
        for (index, transition) in transitions.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            first = true
            try date("at", transition.at)
            text("from_state", transition.fromState.map { (Components.Schemas.JobState(rawValue: $0.rawValue) ?? .lost).rawValue })
            text("reason", transition.reason)
            if let sequence = transition.sequence {
                key("sequence")
                out.append(contentsOf: String(sequence).utf8)
            }
            text("source", (Components.Schemas.Transition.SourcePayload(rawValue: transition.source) ?? .reconciler).rawValue)
            text("to_state", (Components.Schemas.JobState(rawValue: transition.toState.rawValue) ?? .lost).rawValue)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}
