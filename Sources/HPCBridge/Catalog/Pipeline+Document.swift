/// The public description of a pipeline: what `GET /v1/pipelines/{name}` returns, so clients can show
/// the choices and validate parameters before they submit.
extension Pipeline {
    /// A summary for listings.
    public var summaryDocument: JSONValue {
        var members: [String: JSONValue] = ["name": .string(name), "version": .string(version), "description": .string(description)]
        if let title { members["title"] = .string(title) }
        return .object(members)
    }

    /// Everything a client needs: the steps with their resources and outputs, the sample-sheet row
    /// schema, and the parameter schema. A single-job pipeline also shows its one step's resources and
    /// outputs at the top, as before steps existed.
    public var document: JSONValue {
        guard case .object(var members) = summaryDocument else { return summaryDocument }
        members["steps"] = .array(steps.map { step in
            var entry: [String: JSONValue] = [
                "name": .string(step.name), "needs": .array(step.needs.map(JSONValue.string)),
                "resources": Self.document(step.resources), "outputs": Self.document(step.outputs),
            ]
            if let title = step.title { entry["title"] = .string(title) }
            if let scatter = step.scatter { entry["scatter"] = .string(scatter.rawValue) }
            return .object(entry)
        })
        if isSingleJob {
            members["resources"] = Self.document(resources)
            members["outputs"] = Self.document(outputs)
        }
        if let sampleSheet { members["sample_sheet"] = sampleSheet.document }
        members["parameters"] = parameters.document
        return .object(members)
    }

    static func document(_ r: ResourcePolicy) -> JSONValue {
        func memory(_ mb: Int) -> JSONValue { .string(ResourceQuantities.memoryText(megabytes: mb)) }
        func time(_ s: Int) -> JSONValue { .string(ResourceQuantities.timeText(seconds: s)) }
        var defaults: [String: JSONValue] = [
            "cpus": .number(Double(r.defaults.cpus)), "gpus": .number(Double(r.defaults.gpus)),
            "memory": memory(r.defaults.memoryMB), "time_limit": time(r.defaults.timeLimitSeconds),
        ]
        if let partition = r.defaults.partition { defaults["partition"] = .string(partition) }
        if let qos = r.defaults.qos { defaults["qos"] = .string(qos) }
        return .object([
            "defaults": .object(defaults),
            "bounds": .object([
                "cpus": .object(["min": .number(Double(r.cpus.lowerBound)), "max": .number(Double(r.cpus.upperBound))]),
                "gpus": .object(["min": .number(Double(r.gpus.lowerBound)), "max": .number(Double(r.gpus.upperBound))]),
                "memory": .object(["min": memory(r.memoryMB.lowerBound), "max": memory(r.memoryMB.upperBound)]),
                "time_limit": .object(["min": time(r.timeLimitSeconds.lowerBound), "max": time(r.timeLimitSeconds.upperBound)]),
            ]),
        ])
    }

    static func document(_ outputs: [Output]) -> JSONValue {
        .array(outputs.map { output in
            var o: [String: JSONValue] = ["name": .string(output.name), "path": .string(output.pathTemplate), "description": .string(output.description)]
            if let condition = output.condition { o["when"] = .string(condition) }
            return .object(o)
        })
    }
}
