/// The public description of a pipeline: what `GET /v1/pipelines/{name}` returns, so clients can show
/// the choices and validate parameters before they submit.
extension Pipeline {
    /// A summary for listings.
    public var summaryDocument: JSONValue {
        var members: [String: JSONValue] = ["name": .string(name), "version": .string(version), "description": .string(description)]
        if let title { members["title"] = .string(title) }
        return .object(members)
    }

    /// Everything a client needs: resources with their bounds, outputs, and the parameter schema.
    public var document: JSONValue {
        guard case .object(var members) = summaryDocument else { return summaryDocument }
        let r = resources
        func memory(_ mb: Int) -> JSONValue { .string(ResourceQuantities.memoryText(megabytes: mb)) }
        func time(_ s: Int) -> JSONValue { .string(ResourceQuantities.timeText(seconds: s)) }
        var defaults: [String: JSONValue] = [
            "cpus": .number(Double(r.defaults.cpus)), "gpus": .number(Double(r.defaults.gpus)),
            "memory": memory(r.defaults.memoryMB), "time_limit": time(r.defaults.timeLimitSeconds),
        ]
        if let partition = r.defaults.partition { defaults["partition"] = .string(partition) }
        if let qos = r.defaults.qos { defaults["qos"] = .string(qos) }
        members["resources"] = .object([
            "defaults": .object(defaults),
            "bounds": .object([
                "cpus": .object(["min": .number(Double(r.cpus.lowerBound)), "max": .number(Double(r.cpus.upperBound))]),
                "gpus": .object(["min": .number(Double(r.gpus.lowerBound)), "max": .number(Double(r.gpus.upperBound))]),
                "memory": .object(["min": memory(r.memoryMB.lowerBound), "max": memory(r.memoryMB.upperBound)]),
                "time_limit": .object(["min": time(r.timeLimitSeconds.lowerBound), "max": time(r.timeLimitSeconds.upperBound)]),
            ]),
        ])
        members["outputs"] = .array(outputs.map { output in
            var o: [String: JSONValue] = ["name": .string(output.name), "path": .string(output.pathTemplate), "description": .string(output.description)]
            if let condition = output.condition { o["when"] = .string(condition) }
            return .object(o)
        })
        members["parameters"] = parameters.document
        return .object(members)
    }
}
