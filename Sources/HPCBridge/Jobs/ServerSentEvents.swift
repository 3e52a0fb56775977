import Foundation

/// The text/event-stream wire format (WHATWG HTML, "Server-sent events"), written by hand: three kinds
/// of frames, each a few lines, are simpler to write directly than to adapt a generic encoder to.
public enum ServerSentEvents {
    /// Asks clients to reconnect after this many milliseconds (sent first).
    public static func retry(milliseconds: Int) -> String { "retry: \(milliseconds)\n\n" }

    /// A comment frame: keeps proxies and load balancers from closing an idle stream.
    public static let heartbeat = ": heartbeat\n\n"

    /// One event. `data` must not contain line breaks (JSON text written compactly has none).
    public static func event(id: String?, name: String, data: String) -> String {
        precondition(!data.contains("\n") && !data.contains("\r"), "SSE data must be one line")
        return (id.map { "id: \($0)\n" } ?? "") + "event: \(name)\ndata: \(data)\n\n"
    }

    /// A job transition as the event stream sends it: `id` is the history position (`Last-Event-ID`
    /// resumes after it), `data` the transition with whose job it is.
    public static func transition(_ summary: JobStore.Event.Summary) -> String {
        let t = summary.transition
        var data: [String: JSONValue] = [
            "job_id": .string(t.jobID.uuidString.lowercased()), "research_group": .string(summary.group),
            "pipeline_name": .string(summary.pipeline), "to_state": .string(t.toState.rawValue),
            "at": .string(t.at.iso8601WithFractionalSeconds), "source": .string(t.source),
        ]
        if let sequence = t.sequence { data["sequence"] = .number(Double(sequence)) }
        if let from = t.fromState { data["from_state"] = .string(from.rawValue) }
        if let reason = t.reason { data["reason"] = .string(reason) }
        if let step = summary.step {
            data["run_id"] = .string(step.runID.uuidString.lowercased())
            data["step"] = .string(step.step)
        }
        return event(id: t.sequence.map(String.init), name: "transition", data: JSONValue.object(data).jsonText)
    }
}
