import Foundation

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
        let params: TemplateValue
        let refs: [String: TemplateValue]
        let group: ResearchGroup
        let description: String?
        let scheduler: ClusterConfig.Scheduler

        init(pipeline: Pipeline, parameters: JSONValue, group: ResearchGroup, description: String?,
             scheduler: ClusterConfig.Scheduler, references: ReferenceRegistry) throws {
            try ScriptRenderer.refuseNul(in: parameters, at: .root)
            if let description, description.contains("\0") { throw RenderError.nulByte(pointer: "/description") }
            var refs: [String: TemplateValue] = [:]
            for (name, kind, _) in pipeline.referenceParameters {
                guard let chosen = parameters[name]?.stringValue else { continue }
                guard let entry = references.entries[chosen], entry.kind == kind else {
                    throw RenderError.unknownReference(parameter: name, name: chosen, kind: kind)
                }
                refs[name] = entry.renderContext
            }
            self.pipeline = pipeline
            self.parameters = parameters
            self.params = TemplateValue(parameters)
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
    static func outputs(_ declared: [Pipeline.Output], parameters: JSONValue, params: TemplateValue, row: TemplateValue?) throws -> [(name: String, path: String)] {
        var outputs: [(name: String, path: String)] = []
        for output in declared {
            if let condition = output.condition {
                let parameter = String(condition.dropFirst("params.".count))
                guard let value = parameters[parameter], value != .null, value != .bool(false) else { continue }
            }
            let template = try output.pathRenderer ?? CompiledTemplate(output.pathTemplate, escaping: .text)
            var context: [String: TemplateValue] = ["params": params]
            if let row { context["row"] = row }
            let path = template.render(.object(context))
            guard isSafeRelativePath(path) else { throw RenderError.unsafeOutputPath(output: output.name, path: path) }
            outputs.append((output.name, path))
        }
        return outputs
    }

    /// Renders one script: the scheduler header (unless `header` is false: an array task's own script),
    /// the shared prologue and `body`, or the array launcher in place of prologue and body.
    func render(_ inputs: ScriptInputs, layout: ScriptLayout, resources: ResourceRequest, body bodyPath: String?,
                outputs: [(name: String, path: String)], names: [String: TemplateValue], header: Bool = true) throws -> RenderedScript {
        let comment = "hpcbridge:\(layout.jobID)"
        let partition = resources.partition ?? inputs.group.partition
        let qos = resources.qos ?? inputs.group.qos
        func directive(_ value: String, for name: String) throws -> TemplateValue {
            .string(try ScriptEscaping.directiveValue(value, for: name))
        }
        var directives: [String: TemplateValue] = [
            "job_name": try directive(layout.jobName, for: "job name"),
            "account": try directive(inputs.group.account, for: "account"),
            "cpus": .string(String(resources.cpus)),
            "memory_mb": .string(String(resources.memoryMB)),
            "time": .string(ResourceQuantities.slurmTime(seconds: resources.timeLimitSeconds)),
            "walltime": .string(ResourceQuantities.pbsWalltime(seconds: resources.timeLimitSeconds)),
            "run_dir": try directive(layout.runDirectory, for: "working directory"),
            "stdout": try directive(layout.stdoutPath, for: "output file"),
            "stderr": try directive(layout.stderrPath, for: "error file"),
            "comment": try directive(comment, for: "comment"),
            "job_id": .string(layout.jobID),
        ]
        if let partition { directives["partition"] = try directive(partition, for: "partition") }
        if let qos { directives["qos"] = try directive(qos, for: "qos") }
        if resources.gpus > 0 { directives["gpus"] = .string(String(resources.gpus)) }

        var run: [String: TemplateValue] = [
            "dir": .string(layout.runDirectory), "exit_code_file": .string(layout.exitCodePath),
            "manifest_file": .string(layout.manifestPath), "stdout": .string(layout.stdoutPath), "stderr": .string(layout.stderrPath),
        ]
        if let tasks = layout.tasksDirectory { run["tasks_dir"] = .string(tasks) }
        var context: [String: TemplateValue] = [
            "job": .object(["id": .string(layout.jobID), "name": .string(layout.jobName), "description": .string(inputs.description ?? "")]),
            "pipeline": .object(["name": .string(inputs.pipeline.name), "version": .string(inputs.pipeline.version)]),
            "group": .object(["name": .string(inputs.group.name), "account": .string(inputs.group.account)]),
            "params": inputs.params,
            "ref": .object(inputs.refs),
            "resources": .object([
                "cpus": .int(resources.cpus), "memory_mb": .int(resources.memoryMB),
                "time_limit_seconds": .int(resources.timeLimitSeconds), "gpus": .int(resources.gpus),
            ]),
            "run": .object(run),
            "outputs": .list(outputs.map { .object(["name": .string($0.name), "path": .string($0.path)]) }),
            "scheduler": .object([
                "name": .string(inputs.scheduler.rawValue), "slurm": .bool(inputs.scheduler == .slurm), "pbs": .bool(inputs.scheduler == .pbs),
            ]),
            "directives": .object(directives),
        ]
        context.merge(names) { _, step in step }
        var parts: [CompiledTemplate] = []
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
        let root = TemplateValue.object(context)
        let text = (header ? "" : "#!/bin/bash\n") + parts.map { Self.trimmed($0.render(root)) }.joined(separator: "\n\n") + "\n"
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
