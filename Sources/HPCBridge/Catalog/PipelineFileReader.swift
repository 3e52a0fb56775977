import Foundation

/// Reads the parts of a pipeline catalog file that its shape check cannot judge (schemas, resource
/// bounds, output paths and what they name), collecting every problem with its line and column.
///
/// The file's shape was checked against `FileFormats.pipeline` before, so required keys are present
/// and have the right types here.
struct PipelineFileReader {
    let document: YAMLDocument
    private(set) var issues: [FileIssue] = []

    /// Stands in for resources that could not be read; the load fails with the issue that says why, so
    /// this value never reaches a job.
    static let unusable = ResourcePolicy(
        defaults: ResourceRequest(cpus: 1, memoryMB: 1, timeLimitSeconds: 60, gpus: 0, partition: nil, qos: nil),
        cpus: 1...1, gpus: 0...0, memoryMB: 1...1, timeLimitSeconds: 60...60)

    init(document: YAMLDocument) { self.document = document }

    mutating func issue(_ tokens: [String], _ message: String) {
        issues.append(FileIssue(document.location(of: JSONPointer(tokens: tokens)), message))
    }

    /// Compiles a JSON Schema written in the file (parameters, sample-sheet rows), which must describe objects.
    mutating func schema(_ value: JSONValue, at tokens: [String], what: String, mustBe reason: String) -> JSONSchema? {
        do {
            let schema = try JSONSchema(value)
            if schema.root.types != ["object"] {
                issue(tokens, "\(what) must declare type: object (\(reason))")
            }
            return schema
        } catch {
            for problem in error.issues { issue(tokens + problem.location.tokens, problem.message) }
            return nil
        }
    }

    /// A `resources` block: defaults and the bounds a request may choose within.
    mutating func resources(_ value: JSONValue, at tokens: [String]) -> ResourcePolicy? {
        let defaults = value["defaults"]!, bounds = value["bounds"]!
        func text(_ v: JSONValue?) -> String? { v.flatMap { $0.stringValue ?? $0.numberValue.map { JSONValue.format(number: $0) } } }
        func memory(_ v: JSONValue?) -> Int? { text(v).flatMap(ResourceQuantities.megabytes) }
        func time(_ v: JSONValue?) -> Int? { text(v).flatMap(ResourceQuantities.seconds) }
        func int(_ v: JSONValue?) -> Int? { v?.numberValue.map { Int($0) } }
        let request = ResourceRequest(
            cpus: int(defaults["cpus"])!, memoryMB: memory(defaults["memory"]) ?? 1, timeLimitSeconds: time(defaults["time_limit"]) ?? 60,
            gpus: int(defaults["gpus"]) ?? 0, partition: defaults["partition"]?.stringValue, qos: defaults["qos"]?.stringValue)
        var valid = true
        func range(_ key: String, _ read: (JSONValue?) -> Int?, minimum: Int) -> ClosedRange<Int> {
            let low = read(bounds[key]?["min"]) ?? minimum
            let high = read(bounds[key]?["max"]) ?? minimum
            guard low <= high else {
                issue(tokens + ["bounds", key], "min is larger than max")
                valid = false
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
            issue(tokens + ["defaults", key], "the default lies outside resources.bounds.\(key); widen the bounds or change the default")
            valid = false
        }
        return valid ? policy : nil
    }

    /// An `outputs` list; names unique, `when` naming a parameter.
    mutating func outputs(_ value: JSONValue?, at tokens: [String], parameters: JSONSchema?) -> [Pipeline.Output] {
        var outputs: [Pipeline.Output] = []
        for (i, entry) in (value?.arrayValue ?? []).enumerated() {
            let output = Pipeline.Output(name: entry["name"]!.stringValue!, pathTemplate: entry["path"]!.stringValue!,
                                         description: entry["description"]!.stringValue!, condition: entry["when"]?.stringValue)
            if outputs.contains(where: { $0.name == output.name }) {
                issue(tokens + [String(i), "name"], "output \"\(output.name)\" is declared twice")
            }
            if let condition = output.condition, let parameters {
                let parameter = String(condition.dropFirst("params.".count))
                if parameters.root.properties[parameter] == nil {
                    issue(tokens + [String(i), "when"], "names \(condition), which is not a parameter\(EditDistance.hint(for: parameter, among: parameters.root.properties.keys.sorted()))")
                }
            }
            outputs.append(output)
        }
        return outputs
    }

    /// Every `{{...}}` in an output path must name a parameter, or (in a scatter step) a field of the
    /// sample-sheet row; a scatter step's paths must name the row, or all its tasks would write one file.
    mutating func checkOutputReferences(steps: [PipelineStep], parameters: JSONSchema,
                                        sampleSheet: JSONSchema?, declared: Bool) {
        let parameterNames = parameters.root.properties.keys.sorted()
        let fields = sampleSheet?.root.properties.keys.sorted() ?? []
        for (s, step) in steps.enumerated() {
            for (o, output) in step.outputs.enumerated() {
                let at = (declared ? ["steps", String(s)] : []) + ["outputs", String(o), "path"]
                let names = Self.tagNames(in: output.pathTemplate)
                for name in names {
                    let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
                    switch (parts.first, parts.count) {
                    case ("params", 2):
                        if !parameterNames.contains(parts[1]) {
                            issue(at, "uses {{\(name)}}, but \(parts[1]) is not a parameter\(EditDistance.hint(for: parts[1], among: parameterNames))")
                        }
                    case ("row", 2) where step.scatters:
                        if !fields.contains(parts[1]) {
                            issue(at, "uses {{\(name)}}, but \(parts[1]) is not a field of the sample sheet\(EditDistance.hint(for: parts[1], among: fields)); fields: \(fields.joined(separator: ", "))")
                        }
                    case ("row", 2):
                        issue(at, "uses {{\(name)}}, but step \"\(step.name)\" does not scatter over the sample sheet, so it has no row")
                    default:
                        issue(at, "uses {{\(name)}}; an output path may use params.NAME\(step.scatters ? " and row.FIELD" : "")")
                    }
                }
                if step.scatters, !names.contains(where: { $0.hasPrefix("row.") }) {
                    issue(at, "is the same for every task of scatter step \"\(step.name)\"; name the row in it, e.g. {{row.\(SampleSheet.keyField)}}/\((output.pathTemplate as NSString).lastPathComponent)")
                }
            }
        }
    }

    /// The names inside `{{ }}` tags of an output path.
    static func tagNames(in template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{"), let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) {
            names.append(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return names
    }
}
