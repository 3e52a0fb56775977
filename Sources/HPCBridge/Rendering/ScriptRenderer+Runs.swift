import Crypto
import Foundation

/// Everything the scripts of one run are made from.
public struct RunScriptRequest: Sendable {
    public var runID: UUID
    public var pipeline: Pipeline
    /// Validated run parameters with defaults applied.
    public var parameters: JSONValue
    /// The validated sample sheet; nil only for a pipeline that declares none.
    public var samples: SampleSheet?
    public var group: ResearchGroup
    public var description: String?
    /// Resources per step name (the step's defaults with the request's overrides applied).
    public var resources: [String: ResourceRequest]
    public var scheduler: ClusterConfig.Scheduler

    public init(runID: UUID, pipeline: Pipeline, parameters: JSONValue, samples: SampleSheet?, group: ResearchGroup,
                description: String?, resources: [String: ResourceRequest], scheduler: ClusterConfig.Scheduler) {
        self.runID = runID
        self.pipeline = pipeline
        self.parameters = parameters
        self.samples = samples
        self.group = group
        self.description = description
        self.resources = resources
        self.scheduler = scheduler
    }
}

/// The rendered scripts of a run: one per step, and one per task of each scatter step.
public struct RenderedRun: Sendable, Hashable {
    public let runDirectory: String
    /// In the catalog's order.
    public let steps: [RenderedStep]
}

/// One step of a rendered run: the script submitted for it (the whole script, or for a scatter step
/// the array's launcher) and, for a scatter step, each task's own script.
public struct RenderedStep: Sendable, Hashable {
    public let name: String
    /// The step's own id: its scheduler comment (`hpcbridge:<id>`) finds it again after a crash.
    public let id: UUID
    public let needs: [String]
    public let script: RenderedScript
    /// One per sample-sheet row, in row order; empty for a step that does not scatter.
    public let tasks: [RenderedTask]
    /// Where the step's logs, exit-code file, manifest and task scripts live.
    public let directory: String
}

/// One array task's script, written to `scriptPath` before the array is submitted.
public struct RenderedTask: Sendable, Hashable {
    public let index: Int
    public let sampleID: String
    public let scriptPath: String
    public let text: String
    public let stdoutPath: String
    public let stderrPath: String
    public let exitCodePath: String
    public let manifestPath: String
    /// Declared outputs as rendered paths relative to the run directory.
    public let outputs: [String: String]
}

extension ScriptRenderer {
    /// A step's directory inside the run directory: its logs, exit-code file, manifest and task scripts.
    public static func stepDirectory(runDirectory: String, step: String) -> String { runDirectory + "/steps/" + step }

    /// The id of a step of a run: derived from the run id and the step name, so rendering stays
    /// deterministic (same run, same bytes) and a restarted service recomputes the tags it looks for.
    public static func stepID(run: UUID, step: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Data("hpcbridge-step:\(run.uuidString.lowercased()):\(step)".utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80   // version 8: a custom, name-based UUID (RFC 9562)
        bytes[8] = (bytes[8] & 0x3F) | 0x80   // RFC 4122 variant
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// Renders every step of a run. A step's template sees `params`, `ref`, its own and its upstream
    /// steps' outputs as `steps.NAME.OUTPUT`, `rows` (every row with its fields and the scatter steps'
    /// per-row outputs) and, in a scatter step, `row` (its own row); a scatter step's outputs and
    /// upstream scatter outputs are its row's.
    public func render(_ request: RunScriptRequest) throws -> RenderedRun {
        let pipeline = request.pipeline
        let inputs = try ScriptInputs(pipeline: pipeline, parameters: request.parameters, group: request.group,
                                      description: request.description, scheduler: request.scheduler, references: references)
        let runID = request.runID.uuidString.lowercased()
        let runDirectory = Self.directory(request.group.runRoot, runID)
        let rows = request.samples?.rows ?? []
        for (index, row) in rows.enumerated() { try Self.refuseNul(in: row, at: JSONPointer(tokens: ["samples", String(index)])) }
        let rowContexts = rows.map(TemplateValue.init)

        // Every step's outputs first: a step's template may use those of any step it needs.
        var singleOutputs: [String: [(name: String, path: String)]] = [:]
        var rowOutputs: [String: [[(name: String, path: String)]]] = [:]
        for step in pipeline.steps {
            if step.scatters {
                rowOutputs[step.name] = try rowContexts.map { try Self.outputs(step.outputs, parameters: request.parameters, params: inputs.params, row: $0) }
            } else {
                singleOutputs[step.name] = try Self.outputs(step.outputs, parameters: request.parameters, params: inputs.params, row: nil)
            }
        }
        func table(_ outputs: [(name: String, path: String)]) -> [String: String] {
            Dictionary(uniqueKeysWithValues: outputs.map { ($0.name, $0.path) })
        }
        let rowsContext: [TemplateValue] = rowContexts.enumerated().map { index, row in
            guard case .object(var entry) = row else { return .object([:]) }
            entry["steps"] = .object(rowOutputs.mapValues { TemplateValue(table($0[index])) })
            return .object(entry)
        }

        var rendered: [RenderedStep] = []
        for (stepIndex, step) in pipeline.steps.enumerated() {
            let visible = pipeline.graph.ancestors(of: stepIndex).union([stepIndex]).map { pipeline.steps[$0].name }
            func names(row: Int?) -> [String: TemplateValue] {
                var steps: [String: TemplateValue] = [:]
                for name in visible {
                    if let outputs = singleOutputs[name] { steps[name] = TemplateValue(table(outputs)) }
                    if let row, let perRow = rowOutputs[name] { steps[name] = TemplateValue(table(perRow[row])) }
                }
                var names: [String: TemplateValue] = ["steps": .object(steps), "rows": .list(rowsContext)]
                if let row { names["row"] = rowContexts[row] }
                return names
            }
            let id = Self.stepID(run: request.runID, step: step.name)
            let directory = Self.stepDirectory(runDirectory: runDirectory, step: step.name)
            let resources = request.resources[step.name] ?? step.resources.defaults
            let jobName = ScriptEscaping.jobName("\(pipeline.name).\(step.name)")
            if step.scatters {
                let tasksDirectory = directory + "/tasks"
                var tasks: [RenderedTask] = []
                for index in rows.indices {
                    let base = tasksDirectory + "/\(index)"
                    let layout = ScriptLayout(
                        jobID: id.uuidString.lowercased(), jobName: jobName, runDirectory: runDirectory,
                        stdoutPath: base + ".stdout.log", stderrPath: base + ".stderr.log",
                        exitCodePath: base + ".exit_code", manifestPath: base + ".manifest.json")
                    let outputs = rowOutputs[step.name]![index]
                    let script = try render(inputs, layout: layout, resources: resources, body: step.template, outputs: outputs,
                                            names: names(row: index), header: false)
                    tasks.append(RenderedTask(
                        index: index, sampleID: rows[index][SampleSheet.keyField]?.stringValue ?? "", scriptPath: base + ".sh",
                        text: script.text, stdoutPath: layout.stdoutPath, stderrPath: layout.stderrPath,
                        exitCodePath: layout.exitCodePath, manifestPath: layout.manifestPath, outputs: table(outputs)))
                }
                let pattern = Self.arrayIndexPattern(request.scheduler)
                let launcher = ScriptLayout(
                    jobID: id.uuidString.lowercased(), jobName: jobName, runDirectory: runDirectory,
                    stdoutPath: "\(tasksDirectory)/\(pattern).stdout.log", stderrPath: "\(tasksDirectory)/\(pattern).stderr.log",
                    exitCodePath: "\(tasksDirectory)/\(pattern).exit_code", manifestPath: "\(tasksDirectory)/\(pattern).manifest.json",
                    tasksDirectory: tasksDirectory)
                let script = try render(inputs, layout: launcher, resources: resources, body: nil, outputs: [], names: [:])
                rendered.append(RenderedStep(name: step.name, id: id, needs: step.needs, script: script, tasks: tasks, directory: directory))
            } else {
                let layout = ScriptLayout(
                    jobID: id.uuidString.lowercased(), jobName: jobName, runDirectory: runDirectory,
                    stdoutPath: directory + "/" + Self.stdoutFile, stderrPath: directory + "/" + Self.stderrFile,
                    exitCodePath: directory + "/" + Self.exitCodeFile, manifestPath: directory + "/" + Self.manifestFile)
                let script = try render(inputs, layout: layout, resources: resources, body: step.template,
                                        outputs: singleOutputs[step.name]!, names: names(row: nil))
                rendered.append(RenderedStep(name: step.name, id: id, needs: step.needs, script: script, tasks: [], directory: directory))
            }
        }
        return RenderedRun(runDirectory: runDirectory, steps: rendered)
    }

    /// How the scheduler writes an array task's index into its log paths.
    static func arrayIndexPattern(_ scheduler: ClusterConfig.Scheduler) -> String {
        switch scheduler {
        case .slurm: return "%a"
        case .pbs: return "^array_index^"
        }
    }
}
