import Foundation

/// Every pipeline a site offers, loaded from `config/pipelines/*.yaml`.
///
/// A catalog loads completely or not at all: one broken file stops the load with every problem of every
/// file listed, so a service never runs half a catalog and an author fixes all mistakes in one go.
public struct PipelineCatalog: Sendable {
    public let directory: String
    public let pipelines: [String: Pipeline]

    public init(directory: String, pipelines: [String: Pipeline]) {
        self.directory = directory
        self.pipelines = pipelines
    }

    /// The pipelines sorted by name.
    public var sorted: [Pipeline] { pipelines.keys.sorted().map { pipelines[$0]! } }

    /// A pipeline by name, or an error that lists what exists.
    public func pipeline(named name: String) throws -> Pipeline {
        guard let pipeline = pipelines[name] else {
            throw LoadError(SourceLocation(file: directory),
                            "no pipeline \"\(name)\"\(EditDistance.hint(for: name, among: pipelines.keys.sorted())); the catalog has \(pipelines.keys.sorted().joined(separator: ", "))")
        }
        return pipeline
    }

    /// Loads every `*.yaml` / `*.yml` file of a directory.
    public static func load(directory: String) throws -> PipelineCatalog {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        } catch {
            throw LoadError(SourceLocation(file: directory), "cannot list the catalog directory: \(error.localizedDescription); check the catalogs path in the config or --catalog")
        }
        guard !names.isEmpty else { throw LoadError(SourceLocation(file: directory), "contains no pipeline files (*.yaml)") }
        var issues: [FileIssue] = []
        var pipelines: [String: Pipeline] = [:]
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                let pipeline = try loadPipeline(path: path)
                if let existing = pipelines[pipeline.name] {
                    issues.append(FileIssue(SourceLocation(file: path), "pipeline \"\(pipeline.name)\" is also defined in \(existing.file); names must be unique"))
                }
                pipelines[pipeline.name] = pipeline
            } catch let error as LoadError {
                issues.append(contentsOf: error.issues)
            }
        }
        guard issues.isEmpty else { throw LoadError(issues) }
        return PipelineCatalog(directory: directory, pipelines: pipelines)
    }

    /// Loads one pipeline file.
    public static func loadPipeline(path: String) throws -> Pipeline {
        let document = try YAMLDocument(contentsOf: path)
        let (value, shapeIssues) = FileFormats.check(document, against: FileFormats.pipeline)
        guard shapeIssues.isEmpty else { throw LoadError(shapeIssues) }
        var issues: [FileIssue] = []
        func at(_ tokens: String...) -> SourceLocation { document.location(of: JSONPointer(tokens: tokens)) }

        let name = value["name"]!.stringValue!
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        if name != stem {
            issues.append(FileIssue(at("name"), "the pipeline is named \"\(name)\" but its file is \(stem).yaml; rename one so they match"))
        }

        let parametersDocument = value["parameters"]!
        var schema: JSONSchema?
        do {
            schema = try JSONSchema(parametersDocument)
        } catch {
            for issue in error.issues {
                let location = document.location(of: JSONPointer(tokens: ["parameters"] + issue.location.tokens))
                issues.append(FileIssue(location, issue.message))
            }
        }
        if let schema, schema.root.types != ["object"] {
            issues.append(FileIssue(at("parameters"), "the parameter schema must declare type: object (a request's parameters are an object)"))
        }

        let resources = value["resources"]!
        let defaults = resources["defaults"]!, bounds = resources["bounds"]!
        func memory(_ v: JSONValue?) -> Int? { v.flatMap { $0.stringValue ?? $0.numberValue.map { JSONValue.format(number: $0) } }.flatMap(ResourceQuantities.megabytes) }
        func time(_ v: JSONValue?) -> Int? { v.flatMap { $0.stringValue ?? $0.numberValue.map { JSONValue.format(number: $0) } }.flatMap(ResourceQuantities.seconds) }
        func int(_ v: JSONValue?) -> Int? { v?.numberValue.map { Int($0) } }
        let request = ResourceRequest(
            cpus: int(defaults["cpus"])!, memoryMB: memory(defaults["memory"]) ?? 1, timeLimitSeconds: time(defaults["time_limit"]) ?? 60,
            gpus: int(defaults["gpus"]) ?? 0, partition: defaults["partition"]?.stringValue, qos: defaults["qos"]?.stringValue)
        func range(_ key: String, _ read: (JSONValue?) -> Int?, minimum: Int) -> ClosedRange<Int> {
            let low = read(bounds[key]?["min"]) ?? minimum
            let high = read(bounds[key]?["max"]) ?? minimum
            guard low <= high else {
                issues.append(FileIssue(at("resources", "bounds", key), "min is larger than max"))
                return low...low
            }
            return low...high
        }
        let policy = ResourcePolicy(
            defaults: request,
            cpus: range("cpus", int, minimum: 1),
            gpus: range("gpus", int, minimum: 0),
            memoryMB: range("memory", memory, minimum: 1),
            timeLimitSeconds: range("time_limit", time, minimum: 60))
        for (key, value, bound) in [("cpus", request.cpus, policy.cpus), ("gpus", request.gpus, policy.gpus),
                                    ("memory", request.memoryMB, policy.memoryMB), ("time_limit", request.timeLimitSeconds, policy.timeLimitSeconds)]
        where !bound.contains(value) {
            issues.append(FileIssue(at("resources", "defaults", key), "the default lies outside resources.bounds.\(key); widen the bounds or change the default"))
        }

        var outputs: [Pipeline.Output] = []
        for (i, entry) in (value["outputs"]!.arrayValue ?? []).enumerated() {
            let output = Pipeline.Output(name: entry["name"]!.stringValue!, pathTemplate: entry["path"]!.stringValue!,
                                         description: entry["description"]!.stringValue!, condition: entry["when"]?.stringValue)
            if outputs.contains(where: { $0.name == output.name }) {
                issues.append(FileIssue(document.location(of: JSONPointer(tokens: ["outputs", String(i), "name"])), "output \"\(output.name)\" is declared twice"))
            }
            if let condition = output.condition, let schema, schema.root.properties[String(condition.dropFirst("params.".count))] == nil {
                issues.append(FileIssue(document.location(of: JSONPointer(tokens: ["outputs", String(i), "when"])),
                                        "names \(condition), which is not a parameter\(EditDistance.hint(for: String(condition.dropFirst(7)), among: schema.root.properties.keys.sorted()))"))
            }
            outputs.append(output)
        }

        guard issues.isEmpty, let schema else { throw LoadError(issues) }
        return Pipeline(
            name: name, version: value["version"]!.stringValue!, title: value["title"]?.stringValue,
            description: value["description"]!.stringValue!, template: value["template"]!.stringValue!,
            resources: policy, outputs: outputs, parameters: schema, file: path, source: document)
    }
}
