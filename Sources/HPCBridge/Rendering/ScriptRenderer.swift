import Foundation
import Mustache

/// Everything a batch script is made from.
public struct ScriptRequest: Sendable {
    public var jobID: UUID
    public var pipeline: Pipeline
    /// Validated parameters with defaults applied (see `Pipeline.validate`).
    public var parameters: JSONValue
    public var group: ResearchGroup
    public var description: String?
    public var resources: ResourceRequest
    public var scheduler: ClusterConfig.Scheduler

    public init(jobID: UUID, pipeline: Pipeline, parameters: JSONValue, group: ResearchGroup, description: String?,
                resources: ResourceRequest, scheduler: ClusterConfig.Scheduler) {
        self.jobID = jobID
        self.pipeline = pipeline
        self.parameters = parameters
        self.group = group
        self.description = description
        self.resources = resources
        self.scheduler = scheduler
    }
}

/// A rendered batch script and the facts a submitter needs besides its text (libslurm ignores
/// `#SBATCH` lines, so resources and paths travel next to the script as well).
public struct RenderedScript: Sendable, Hashable {
    public let text: String
    public let jobName: String
    public let runDirectory: String
    public let stdoutPath: String
    public let stderrPath: String
    public let exitCodePath: String
    public let manifestPath: String
    /// The scheduler comment (`hpcbridge:<job id>`) that finds the job again after a crash.
    public let comment: String
    public let account: String
    public let resources: ResourceRequest
    /// Declared outputs as rendered paths relative to the run directory.
    public let outputs: [String: String]
}

/// Renders batch scripts: deterministic (same request, same bytes), and with every value placed through
/// `ScriptEscaping`.
public struct ScriptRenderer: Sendable {
    public let templates: TemplateSet
    public let references: ReferenceRegistry

    public init(templates: TemplateSet, references: ReferenceRegistry) {
        self.templates = templates
        self.references = references
    }

    /// File names inside every run directory; the reconciler reads the exit-code file when the
    /// scheduler has forgotten a job.
    public static let exitCodeFile = "hpcbridge.exit_code"
    public static let manifestFile = "hpcbridge.manifest.json"
    public static let stdoutFile = "stdout.log"
    public static let stderrFile = "stderr.log"

    public func render(_ request: ScriptRequest) throws -> RenderedScript {
        let inputs = try ScriptInputs(request, references: references)
        let jobID = request.jobID.uuidString.lowercased()
        let runDirectory = Self.directory(request.group.runRoot, jobID)
        let sample = request.parameters["sample_id"]?.stringValue
        let layout = ScriptLayout(
            jobID: jobID, jobName: ScriptEscaping.jobName(sample.map { "\(request.pipeline.name).\($0)" } ?? request.pipeline.name),
            runDirectory: runDirectory, stdoutPath: runDirectory + "/" + Self.stdoutFile,
            stderrPath: runDirectory + "/" + Self.stderrFile, exitCodePath: runDirectory + "/" + Self.exitCodeFile,
            manifestPath: runDirectory + "/" + Self.manifestFile)
        let outputs = try Self.outputs(request.pipeline.outputs, parameters: request.parameters, params: inputs.params, row: nil)
        return try render(inputs, layout: layout, resources: request.resources, body: request.pipeline.template, outputs: outputs, names: [:])
    }

    /// What every script of one request shares: the pipeline, validated parameters in the form Mustache
    /// reads, the references they name, the group and the scheduler.
    struct ScriptInputs {
        let pipeline: Pipeline
        let parameters: JSONValue
        let params: Any
        let refs: [String: Any]
        let group: ResearchGroup
        let description: String?
        let scheduler: ClusterConfig.Scheduler

        init(pipeline: Pipeline, parameters: JSONValue, group: ResearchGroup, description: String?,
             scheduler: ClusterConfig.Scheduler, references: ReferenceRegistry) throws {
            try ScriptRenderer.refuseNul(in: parameters, at: .root)
            if let description, description.contains("\0") { throw RenderError.nulByte(pointer: "/description") }
            var refs: [String: Any] = [:]
            for (name, kind, _) in pipeline.referenceParameters {
                guard let chosen = parameters[name]?.stringValue else { continue }
                guard let entry = references.entries[chosen], entry.kind == kind else {
                    throw RenderError.unknownReference(parameter: name, name: chosen, kind: kind)
                }
                refs[name] = entry.renderContext
            }
            self.pipeline = pipeline
            self.parameters = parameters
            self.params = ScriptRenderer.renderable(parameters)
            self.refs = refs
            self.group = group
            self.description = description
            self.scheduler = scheduler
        }

        init(_ request: ScriptRequest, references: ReferenceRegistry) throws {
            try self.init(pipeline: request.pipeline, parameters: request.parameters, group: request.group,
                          description: request.description, scheduler: request.scheduler, references: references)
        }
    }

    /// Where one script's files go and what it is called: the run directory it works in, and its own
    /// logs, exit-code file and manifest (in the run directory for a single job; in the step's directory
    /// for a step or task of a run). Log paths may hold the scheduler's array-index pattern.
    struct ScriptLayout {
        var jobID: String
        var jobName: String
        var runDirectory: String
        var stdoutPath: String
        var stderrPath: String
        var exitCodePath: String
        var manifestPath: String
        /// The directory of an array's task scripts, for the launcher.
        var tasksDirectory: String?
    }

    /// Declared outputs whose condition holds, rendered (with `params`, and `row` in a scatter task) and
    /// checked to stay inside the run directory.
    static func outputs(_ declared: [Pipeline.Output], parameters: JSONValue, params: Any, row: Any?) throws -> [(name: String, path: String)] {
        var outputs: [(name: String, path: String)] = []
        for output in declared {
            if let condition = output.condition {
                let parameter = String(condition.dropFirst("params.".count))
                guard let value = parameters[parameter], value != .null, value != .bool(false) else { continue }
            }
            let template = try output.pathRenderer ?? MustacheTemplate(string: Pipeline.Output.textMode + output.pathTemplate)
            var context: [String: Any] = ["params": params]
            if let row { context["row"] = row }
            let path = template.render(context)
            guard isSafeRelativePath(path) else { throw RenderError.unsafeOutputPath(output: output.name, path: path) }
            outputs.append((output.name, path))
        }
        return outputs
    }

    /// Renders one script: the scheduler header (unless `header` is false: an array task's own script),
    /// the shared prologue and `body`, or the array launcher in place of prologue and body.
    func render(_ inputs: ScriptInputs, layout: ScriptLayout, resources: ResourceRequest, body bodyPath: String?,
                outputs: [(name: String, path: String)], names: [String: Any], header: Bool = true) throws -> RenderedScript {
        let comment = "hpcbridge:\(layout.jobID)"
        let partition = resources.partition ?? inputs.group.partition
        let qos = resources.qos ?? inputs.group.qos
        var directives: [String: Any] = [
            "job_name": try ScriptEscaping.directiveValue(layout.jobName, for: "job name"),
            "account": try ScriptEscaping.directiveValue(inputs.group.account, for: "account"),
            "cpus": String(resources.cpus),
            "memory_mb": String(resources.memoryMB),
            "time": ResourceQuantities.slurmTime(seconds: resources.timeLimitSeconds),
            "walltime": ResourceQuantities.pbsWalltime(seconds: resources.timeLimitSeconds),
            "run_dir": try ScriptEscaping.directiveValue(layout.runDirectory, for: "working directory"),
            "stdout": try ScriptEscaping.directiveValue(layout.stdoutPath, for: "output file"),
            "stderr": try ScriptEscaping.directiveValue(layout.stderrPath, for: "error file"),
            "comment": try ScriptEscaping.directiveValue(comment, for: "comment"),
            "job_id": layout.jobID,
        ]
        if let partition { directives["partition"] = try ScriptEscaping.directiveValue(partition, for: "partition") }
        if let qos { directives["qos"] = try ScriptEscaping.directiveValue(qos, for: "qos") }
        if resources.gpus > 0 { directives["gpus"] = String(resources.gpus) }

        var run: [String: Any] = [
            "dir": layout.runDirectory, "exit_code_file": layout.exitCodePath,
            "manifest_file": layout.manifestPath, "stdout": layout.stdoutPath, "stderr": layout.stderrPath,
        ]
        if let tasks = layout.tasksDirectory { run["tasks_dir"] = tasks }
        var context: [String: Any] = [
            "job": ["id": layout.jobID, "name": layout.jobName, "description": inputs.description ?? ""],
            "pipeline": ["name": inputs.pipeline.name, "version": inputs.pipeline.version],
            "group": ["name": inputs.group.name, "account": inputs.group.account],
            "params": inputs.params,
            "ref": inputs.refs,
            "resources": [
                "cpus": resources.cpus, "memory_mb": resources.memoryMB,
                "time_limit_seconds": resources.timeLimitSeconds, "gpus": resources.gpus,
            ],
            "run": run,
            "outputs": outputs.map { ["name": $0.name, "path": $0.path] },
            "scheduler": ["name": inputs.scheduler.rawValue, "slurm": inputs.scheduler == .slurm, "pbs": inputs.scheduler == .pbs],
            "directives": directives,
        ]
        context.merge(names) { _, step in step }
        var parts: [MustacheTemplate] = []
        if header {
            guard let template = templates.headers[inputs.scheduler] else {
                throw RenderError.missingTemplate(TemplateSet.headerPath(inputs.scheduler))
            }
            parts.append(template)
        }
        if let bodyPath {
            guard let body = templates.bodies[bodyPath] else { throw RenderError.missingTemplate(bodyPath) }
            parts += [templates.prologue, body]
        } else {
            parts.append(templates.arrayLauncher)
        }
        let text = (header ? "" : "#!/bin/bash\n") + parts.map { Self.trimmed($0.render(context)) }.joined(separator: "\n\n") + "\n"
        return RenderedScript(
            text: text, jobName: layout.jobName, runDirectory: layout.runDirectory, stdoutPath: layout.stdoutPath,
            stderrPath: layout.stderrPath, exitCodePath: layout.exitCodePath, manifestPath: layout.manifestPath,
            comment: comment, account: inputs.group.account, resources: resources,
            outputs: Dictionary(uniqueKeysWithValues: outputs.map { ($0.name, $0.path) }))
    }

    /// `root/name`, whether or not the root ends in a slash.
    static func directory(_ root: String, _ name: String) -> String {
        root.hasSuffix("/") ? root + name : root + "/" + name
    }

    /// Each template part without trailing blank lines, so the joined script has one blank line between.
    /// Trailing newlines and spaces, then leading newlines, go; a CR before a final newline stays with it
    /// (as the character `\r\n`, which is not `\n`). Walked by byte: by character it was a tenth of the
    /// rendering's time.
    static func trimmed(_ text: String) -> String {
        let bytes = text.utf8
        var end = bytes.endIndex
        while end > bytes.startIndex {
            let last = bytes.index(before: end)
            let byte = bytes[last]
            if byte == UInt8(ascii: " ") { end = last; continue }
            guard byte == UInt8(ascii: "\n") else { break }
            if last > bytes.startIndex, bytes[bytes.index(before: last)] == UInt8(ascii: "\r") { break }
            end = last
        }
        var start = bytes.startIndex
        while start < end, bytes[start] == UInt8(ascii: "\n") { start = bytes.index(after: start) }
        return String(text[start..<end])
    }

    /// Relative, inside the run directory, and of characters that need no quoting in the manifest.
    static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), path.utf8.count <= 1024, path.utf8.allSatisfy(isSafePathByte) else { return false }
        return !path.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    /// ASCII letters, digits and `_.-/`.
    private static func isSafePathByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || [0x5F, 0x2E, 0x2D, 0x2F].contains(byte)
    }

    /// Parameters as Mustache sees them: integral numbers print without `.0`.
    static func renderable(_ value: JSONValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let n): return n.isIntegral && abs(n) < 1e15 ? Int(n) as Any : n as Any
        case .string(let s): return s
        case .array(let items): return items.map(renderable)
        case .object(let members): return members.mapValues(renderable)
        }
    }

    static func refuseNul(in value: JSONValue, at pointer: JSONPointer) throws {
        // The pointer is built only on the way to a NUL: most requests have none, and a pointer per
        // member was most of this walk's cost.
        guard containsNul(value) else { return }
        switch value {
        case .string(let s) where s.contains("\0"): throw RenderError.nulByte(pointer: pointer.description)
        case .array(let items): for (i, item) in items.enumerated() { try refuseNul(in: item, at: pointer.appending(i)) }
        case .object(let members):
            for (key, member) in members {
                if key.contains("\0") { throw RenderError.nulByte(pointer: pointer.appending(key).description) }
                try refuseNul(in: member, at: pointer.appending(key))
            }
        default: break
        }
    }

    private static func containsNul(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let s): return s.utf8.contains(0)
        case .array(let items): return items.contains(where: containsNul)
        case .object(let members): return members.contains { $0.key.utf8.contains(0) || containsNul($0.value) }
        default: return false
        }
    }
}
