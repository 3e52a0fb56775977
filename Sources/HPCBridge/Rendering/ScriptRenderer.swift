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
        try Self.refuseNul(in: request.parameters, at: .root)
        if let description = request.description, description.contains("\0") { throw RenderError.nulByte(pointer: "/description") }

        let pipeline = request.pipeline
        let jobID = request.jobID.uuidString.lowercased()
        let runDirectory = request.group.runRoot.hasSuffix("/") ? request.group.runRoot + jobID : request.group.runRoot + "/" + jobID
        let stdoutPath = runDirectory + "/" + Self.stdoutFile
        let stderrPath = runDirectory + "/" + Self.stderrFile
        let sample = request.parameters["sample_id"]?.stringValue
        let jobName = ScriptEscaping.jobName(sample.map { "\(pipeline.name).\($0)" } ?? pipeline.name)
        let comment = "hpcbridge:\(jobID)"
        let params = Self.renderable(request.parameters)

        var refs: [String: Any] = [:]
        for (name, kind, _) in pipeline.referenceParameters {
            guard let chosen = request.parameters[name]?.stringValue else { continue }
            guard let entry = references.entries[chosen], entry.kind == kind else {
                throw RenderError.unknownReference(parameter: name, name: chosen, kind: kind)
            }
            refs[name] = entry.renderContext
        }

        var outputs: [[String: Any]] = []
        var outputPaths: [String: String] = [:]
        for output in pipeline.outputs {
            if let condition = output.condition {
                let parameter = String(condition.dropFirst("params.".count))
                guard let value = request.parameters[parameter], value != .null, value != .bool(false) else { continue }
            }
            let template = try MustacheTemplate(string: "{{%CONTENT_TYPE:TEXT}}" + output.pathTemplate)
            let path = template.render(["params": params])
            guard Self.isSafeRelativePath(path) else { throw RenderError.unsafeOutputPath(output: output.name, path: path) }
            outputs.append(["name": output.name, "path": path])
            outputPaths[output.name] = path
        }

        let resources = request.resources
        let partition = resources.partition ?? request.group.partition
        let qos = resources.qos ?? request.group.qos
        var directives: [String: Any] = [
            "job_name": try ScriptEscaping.directiveValue(jobName, for: "job name"),
            "account": try ScriptEscaping.directiveValue(request.group.account, for: "account"),
            "cpus": String(resources.cpus),
            "memory_mb": String(resources.memoryMB),
            "time": ResourceQuantities.slurmTime(seconds: resources.timeLimitSeconds),
            "walltime": ResourceQuantities.pbsWalltime(seconds: resources.timeLimitSeconds),
            "run_dir": try ScriptEscaping.directiveValue(runDirectory, for: "working directory"),
            "stdout": try ScriptEscaping.directiveValue(stdoutPath, for: "output file"),
            "stderr": try ScriptEscaping.directiveValue(stderrPath, for: "error file"),
            "comment": try ScriptEscaping.directiveValue(comment, for: "comment"),
            "job_id": jobID,
        ]
        if let partition { directives["partition"] = try ScriptEscaping.directiveValue(partition, for: "partition") }
        if let qos { directives["qos"] = try ScriptEscaping.directiveValue(qos, for: "qos") }
        if resources.gpus > 0 { directives["gpus"] = String(resources.gpus) }

        let context: [String: Any] = [
            "job": ["id": jobID, "name": jobName, "description": request.description ?? ""],
            "pipeline": ["name": pipeline.name, "version": pipeline.version],
            "group": ["name": request.group.name, "account": request.group.account],
            "params": params,
            "ref": refs,
            "resources": [
                "cpus": resources.cpus, "memory_mb": resources.memoryMB,
                "time_limit_seconds": resources.timeLimitSeconds, "gpus": resources.gpus,
            ],
            "run": [
                "dir": runDirectory, "exit_code_file": runDirectory + "/" + Self.exitCodeFile,
                "manifest_file": runDirectory + "/" + Self.manifestFile, "stdout": stdoutPath, "stderr": stderrPath,
            ],
            "outputs": outputs,
            "scheduler": ["name": request.scheduler.rawValue, "slurm": request.scheduler == .slurm, "pbs": request.scheduler == .pbs],
            "directives": directives,
        ]
        guard let header = templates.headers[request.scheduler] else {
            throw RenderError.missingTemplate(TemplateSet.headerPath(request.scheduler))
        }
        guard let body = templates.bodies[pipeline.template] else { throw RenderError.missingTemplate(pipeline.template) }
        let text = [header, templates.prologue, body].map { Self.trimmed($0.render(context)) }.joined(separator: "\n\n") + "\n"
        return RenderedScript(
            text: text, jobName: jobName, runDirectory: runDirectory, stdoutPath: stdoutPath, stderrPath: stderrPath,
            exitCodePath: runDirectory + "/" + Self.exitCodeFile, manifestPath: runDirectory + "/" + Self.manifestFile,
            comment: comment, account: request.group.account, resources: resources, outputs: outputPaths)
    }

    /// Each template part without trailing blank lines, so the joined script has one blank line between.
    private static func trimmed(_ text: String) -> String {
        var t = Substring(text)
        while t.last == "\n" || t.last == " " { t = t.dropLast() }
        while t.first == "\n" { t = t.dropFirst() }
        return String(t)
    }

    /// Relative, inside the run directory, and of characters that need no quoting in the manifest.
    static func isSafeRelativePath(_ path: String) -> Bool {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/")
        guard !path.isEmpty, !path.hasPrefix("/"), path.count <= 1024, path.allSatisfy(allowed.contains) else { return false }
        return !path.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
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

    private static func refuseNul(in value: JSONValue, at pointer: JSONPointer) throws {
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
}
