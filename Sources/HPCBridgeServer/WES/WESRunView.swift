import Foundation
import HPCBridge
import HPCBridgeWESAPI

/// A run as WES shows it: its tasks (a step that runs as one job is one task, named by the step; a step
/// over the sample sheet is one task per array task, `STEP.INDEX`), the task whose log is the run's, its
/// outputs by name, and when it started.
struct WESRunView {
    /// One WES task.
    struct Task {
        enum Kind {
            /// A step submitted as one job.
            case step(name: String, job: Job)
            /// An array task of a scatter step.
            case arrayTask(step: String, index: Int)
        }

        let id: String
        let name: String
        let kind: Kind
        let state: WESState
        let startedAt: Date?
        let finishedAt: Date?
        let exitCode: Int?
        /// The scheduler's id, the failure's kind and reason, the script: what a person needs beyond the
        /// exit code to see why.
        let systemLogs: [String]
        let command: [String]?

        func log(links: WESLinks, runID: UUID) -> Components.Schemas.TaskLog {
            let base = "/ga4gh/wes/v1/runs/\(runID.uuidString.lowercased())/tasks/\(id)/logs/"
            return Components.Schemas.TaskLog(
                id: id, name: name, cmd: command, startTime: startedAt, endTime: finishedAt,
                stdout: links.url(base + "stdout"), stderr: links.url(base + "stderr"),
                exitCode: exitCode.map(Int32.init(clamping:)), systemLogs: systemLogs,
                state: Components.Schemas.State(rawValue: state.rawValue)!)
        }
    }

    let view: JobService.RunView
    /// Every task in step order, array tasks by index (empty when the tasks were not read).
    let tasks: [Task]

    init(_ view: JobService.RunView, tasks: [RunTask] = []) {
        self.view = view
        let cancelling = view.run.cancelRequestedAt != nil
        let byStep = Dictionary(grouping: tasks, by: \.step)
        var all: [Task] = []
        for (step, job) in view.steps {
            if step.taskCount != nil {
                for task in (byStep[step.name] ?? []).sorted(by: { $0.index < $1.index }) {
                    var logs: [String] = []
                    if let native = task.nativeJobID ?? job.nativeJobID.map({ "\($0)_\(task.index)" }) { logs.append("scheduler job \(native)") }
                    if let kind = task.failureKind { logs.append("failure: \(kind)") }
                    all.append(Task(id: "\(step.name).\(task.index)", name: "\(step.name) \(task.sampleID)", kind: .arrayTask(step: step.name, index: task.index),
                                    state: WESState.of(task.state, failureKind: task.failureKind, cancelling: cancelling),
                                    startedAt: task.startedAt, finishedAt: task.finishedAt, exitCode: task.exitCode, systemLogs: logs,
                                    command: ["/bin/bash", "\(step.directory)/tasks/\(task.index).sh"]))
                }
            } else {
                var logs: [String] = []
                if let native = job.nativeJobID { logs.append("scheduler job \(native)") }
                if let kind = job.failureKind { logs.append("failure: \(kind)") }
                if let reason = job.failureReason { logs.append(reason) }
                all.append(Task(id: step.name, name: step.name, kind: .step(name: step.name, job: job),
                                state: WESState.of(job.state, failureKind: job.failureKind, cancelling: cancelling),
                                startedAt: job.startedAt, finishedAt: job.finishedAt, exitCode: job.exitCode, systemLogs: logs, command: nil))
            }
        }
        self.tasks = all
    }

    /// A task by its WES id.
    func task(_ id: String) -> Task? {
        tasks.first { $0.id == id }
    }

    /// The task whose logs and exit code are the run's: the first that failed for a reason of its own
    /// (in a failed step: its first failed task), else the last of the last step.
    var decisiveTask: Task? {
        let failed = tasks.filter { [.executorError, .systemError, .preempted].contains($0.state) }
        let ownFailure = failed.first { task in
            if case .step(_, let job) = task.kind { return job.failureKind != FailureKind.dependencyNeverSatisfied.label }
            return true
        }
        return ownFailure ?? failed.first ?? tasks.last
    }

    /// When the first task started.
    var startedAt: Date? {
        let steps = view.steps.compactMap(\.job.startedAt)
        return (steps + tasks.compactMap(\.startedAt)).min()
    }

    /// Every declared output by name with its absolute path; a scatter step's output is an object of
    /// paths by sample id. An output name two steps declare is kept apart as `STEP.NAME`.
    var outputs: [String: JSONValue] {
        let run = view.run
        let declared = view.steps.flatMap { step, _ in step.outputs.map { (step: step.name, output: $0) } }
        let stepsByName = Dictionary(grouping: declared, by: \.output.name).mapValues { Set($0.map(\.step)) }
        var outputs: [String: JSONValue] = [:]
        for (step, output) in declared {
            let key = (stepsByName[output.name]?.count ?? 0) > 1 ? "\(step).\(output.name)" : output.name
            let path = JSONValue.string(run.runDirectory + "/" + output.path)
            if let sample = output.sampleID {
                var bySample = outputs[key]?.objectValue ?? [:]
                bySample[sample] = path
                outputs[key] = .object(bySample)
            } else {
                outputs[key] = path
            }
        }
        return outputs
    }
}
