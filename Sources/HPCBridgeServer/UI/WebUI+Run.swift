import Foundation
import HPCBridge
import Hummingbird

/// A run's page: its steps as a graph with per-step progress by task state, the tasks that failed with
/// their failure kind, exit code and the last lines of stderr, its outputs, a timeline of every step's
/// transitions, and cancel and resume.
extension WebUI {
    /// Failed tasks shown with their stderr on the run page (each is a log read); the rest are counted.
    static let failedTasksShown = 10
    static let stderrTailLines = 15

    func runPage(_ id: UUID, _ visitor: Visitor) async throws -> Response {
        let (view, failed) = try await service.tasks(ofRun: id, step: nil, states: [.failed, .lost], for: visitor.principal)
        let run = view.run
        let runID = run.id.uuidString.lowercased()

        // The graph comes from the steps as the run recorded them, so a pipeline changed or removed from
        // the catalog since still draws the run as it ran.
        let pipeline = service.site.catalog.pipelines[run.pipelineName]
        var graphSVG = ""
        if case .success(let graph) = PipelineGraph.build(steps: view.steps.map { ($0.step.name, $0.step.needs) }) {
            let nodes = view.steps.map { step, job -> RunGraphSVG.Node in
                let done = step.taskCount.map { _ in WebText.ended(view.taskCounts[step.name] ?? [:]) }
                return RunGraphSVG.Node(name: step.name, title: pipeline?.steps.first { $0.name == step.name }?.title,
                                        state: job.state.rawValue, done: done, total: step.taskCount, href: "#step-\(step.name)")
            }
            graphSVG = RunGraphSVG.svg(graph: graph, nodes: nodes)
        }
        let steps: [[String: Any]] = view.steps.map { step, job in
            let counts = view.taskCounts[step.name] ?? [:]
            let total = step.taskCount ?? 1
            let byState: [(JobState, Int)] = step.taskCount == nil ? [(job.state, 1)] : StepProgressSVG.order.compactMap { state in counts[state].map { (state, $0) } }
            var row: [String: Any] = [
                "name": step.name, "jobID": job.id.uuidString.lowercased(), "state": job.state.rawValue,
                "taskSummary": step.taskCount == nil ? "one job" : byState.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", "),
                "progressSVG": StepProgressSVG.svg(counts: byState, total: total, label: "\(step.name) tasks by state"),
            ]
            if let kind = job.failureKind { row["failureKind"] = kind }
            return row
        }

        // What failed: array tasks by their own state; a step that runs as one job by its job's. A step
        // that only waited on a failed one (dependency never satisfied) is a consequence, not a cause.
        var failures: [(step: String, index: Int?, sample: String?, state: JobState, kind: String?, exit: Int?)] = failed.map {
            ($0.step, $0.index, $0.sampleID, $0.state, $0.failureKind, $0.exitCode)
        }
        for (step, job) in view.steps where step.taskCount == nil && [.failed, .lost].contains(job.state)
            && job.failureKind != FailureKind.dependencyNeverSatisfied.label {
            failures.append((step.name, nil, nil, job.state, job.failureKind, job.exitCode))
        }
        var failedTasks: [[String: Any]] = []
        for failure in failures.prefix(Self.failedTasksShown) {
            let tail: LogTail? = if let index = failure.index {
                try? await service.taskLogs(ofRun: id, step: failure.step, index: index, lines: Self.stderrTailLines, for: visitor.principal)
            } else {
                try? await service.stepLogs(ofRun: id, step: failure.step, lines: Self.stderrTailLines, for: visitor.principal)
            }
            var row: [String: Any] = [
                "step": failure.step, "state": failure.state.rawValue,
                "stderrTail": tail.map { $0.stderr.isEmpty ? "(stderr is empty)" : $0.stderr } ?? "(the log could not be read)",
                "logURL": failure.index.map { "/ui/runs/\(runID)/tasks/\(failure.step)/\($0)/log" }
                    ?? "/ui/jobs/\(view.steps.first { $0.step.name == failure.step }!.job.id.uuidString.lowercased())",
            ]
            if let index = failure.index { row["index"] = String(index) }
            if let sample = failure.sample { row["sample"] = sample }
            if let kind = failure.kind { row["failureKind"] = kind }
            if let exit = failure.exit { row["exitCode"] = String(exit) }
            failedTasks.append(row)
        }

        let history = try await service.store.jobsWithTransitions(ids: view.steps.map(\.job.id))
        let stepOfJob = Dictionary(uniqueKeysWithValues: view.steps.map { ($0.job.id, $0.step.name) })
        let timeline: [[String: Any]] = history.values.flatMap(\.transitions).sorted { ($0.at, $0.sequence ?? 0) < ($1.at, $1.sequence ?? 0) }.map { t in
            var row: [String: Any] = ["at": WebText.time(t.at), "atISO": WebText.iso(t.at), "step": stepOfJob[t.jobID] ?? "", "to": t.toState.rawValue]
            if let from = t.fromState { row["from"] = from.rawValue }
            if let reason = t.reason { row["reason"] = reason }
            return row
        }
        let outputs: [[String: Any]] = view.steps.flatMap { step, _ in
            step.outputs.map { ["step": step.name, "name": $0.name, "sample": $0.sampleID ?? "", "path": run.runDirectory + "/" + $0.path] as [String: Any] }
        }

        let state = view.state
        var values: [String: Any] = [
            "visitor": visitor.layout(), "csrf": visitor.session.csrfToken,
            "id": runID, "shortID": WebText.shortID(run.id), "pipeline": run.pipelineName, "version": run.pipelineVersion,
            "group": run.researchGroup, "state": state.rawValue, "samples": view.sampleCount,
            "created": WebText.time(run.createdAt), "createdISO": WebText.iso(run.createdAt), "runDirectory": run.runDirectory,
            "tags": run.tags.keys.sorted().map { ["name": $0, "value": run.tags[$0]!] },
            "canCancel": !state.isTerminal && run.cancelRequestedAt == nil,
            "canResume": state == .failed || state == .cancelled,
            "graphSVG": graphSVG, "steps": steps,
            "hasFailedTasks": !failedTasks.isEmpty, "failedTasks": failedTasks,
            "hasOutputs": !outputs.isEmpty, "outputs": outputs, "timeline": timeline,
        ]
        if let description = run.description { values["description"] = description }
        if let finished = view.finishedAt {
            values["finished"] = WebText.time(finished)
            values["finishedISO"] = WebText.iso(finished)
        }
        return html("run", values)
    }

    /// One array task's whole log tail (the run page shows the last lines of stderr).
    func taskLogPage(_ id: UUID, step: String, index: Int, _ visitor: Visitor) async throws -> Response {
        let tail = try await service.taskLogs(ofRun: id, step: step, index: index, lines: 1000, for: visitor.principal)
        return html("task-log", [
            "visitor": visitor.layout(), "runID": id.uuidString.lowercased(), "step": step, "index": index,
            "stderr": tail.stderr.isEmpty ? "(empty)" : tail.stderr, "stdout": tail.stdout.isEmpty ? "(empty)" : tail.stdout,
        ])
    }
}
