import Foundation
import HPCBridge
import Hummingbird

/// A job's page: its parameters, resources, script digest and rendered script, transitions, and its log,
/// followed live by the pages' script (the page shows the last lines without it).
extension WebUI {
    static let jobLogLines = 200

    func jobPage(_ id: UUID, _ visitor: Visitor) async throws -> Response {
        let (job, transitions) = try await service.job(id, for: visitor.principal)
        let spec = try? JobSubmitter.spec(of: job)
        let step = try await service.storeCall { try $0.step(ofJob: id) }
        var logText = ""
        var logNote: String?
        do {
            let tail = try await service.logs(id, lines: Self.jobLogLines, for: visitor.principal)
            logText = [tail.stdout, tail.stderr.isEmpty ? "" : tail.stderr.split(separator: "\n", omittingEmptySubsequences: false).map { "[stderr] " + $0 }.joined(separator: "\n")]
                .filter { !$0.isEmpty }.joined(separator: "\n")
            if logText.isEmpty { logNote = job.state.isTerminal ? "The job wrote no log lines." : "No log lines yet; they appear here as the job writes them." }
            if tail.truncated { logNote = "Only the last \(Self.jobLogLines) lines are shown." }
        } catch {
            logNote = "The log could not be read: \(error)"
        }
        let parameters: [[String: Any]] = {
            guard case .object(let members)? = try? JSONValue.parse(job.parametersJSON) else { return [] }
            return members.keys.sorted().map { ["name": $0, "value": members[$0]!.stringValue ?? members[$0]!.jsonText] }
        }()
        let resources = spec.map { spec in
            let r = spec.resources
            var parts = ["\(r.cpus) CPUs", "\(r.memoryMB) MB memory", "time limit \(WebText.duration(TimeInterval(r.timeLimitSeconds)))"]
            if r.gpus > 0 { parts.append("\(r.gpus) GPUs") }
            if let partition = spec.partition { parts.append("partition \(partition)") }
            if let qos = spec.qos { parts.append("QOS \(qos)") }
            parts.append("account \(spec.account)")
            return parts.joined(separator: ", ")
        } ?? "unknown"
        var values: [String: Any] = [
            "visitor": visitor.layout(), "csrf": visitor.session.csrfToken,
            "id": job.id.uuidString.lowercased(), "shortID": WebText.shortID(job.id), "pipeline": job.pipelineName, "version": job.pipelineVersion,
            "group": job.researchGroup, "cluster": job.cluster, "state": job.state.rawValue,
            "created": WebText.time(job.createdAt), "createdISO": WebText.iso(job.createdAt), "scriptDigest": job.scriptDigest,
            "canCancel": !job.state.isTerminal, "parameters": parameters, "resources": resources,
            "script": spec?.script ?? "(not available)", "logText": logText,
            "transitions": transitions.map { t -> [String: Any] in
                var row: [String: Any] = ["at": WebText.time(t.at), "atISO": WebText.iso(t.at), "to": t.toState.rawValue, "source": t.source]
                if let from = t.fromState { row["from"] = from.rawValue }
                if let reason = t.reason { row["reason"] = reason }
                return row
            },
        ]
        if let step {
            values["runID"] = step.runID.uuidString.lowercased()
            values["runShortID"] = WebText.shortID(step.runID)
            values["stepName"] = step.name
        }
        if let native = job.nativeJobID { values["native"] = native }
        if let finished = job.finishedAt {
            values["finished"] = WebText.time(finished)
            values["finishedISO"] = WebText.iso(finished)
        }
        if let exit = job.exitCode { values["exitCode"] = String(exit) }
        if let kind = job.failureKind { values["failureKind"] = kind }
        if let reason = job.failureReason { values["failureReason"] = reason }
        if let description = job.description { values["description"] = description }
        if let logNote { values["logNote"] = logNote }
        return html("job", values)
    }
}
