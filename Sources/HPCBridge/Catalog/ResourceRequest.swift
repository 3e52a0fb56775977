/// What one job asks the scheduler for, in base units.
public struct ResourceRequest: Sendable, Hashable, Codable {
    public var cpus: Int
    public var memoryMB: Int
    public var timeLimitSeconds: Int
    public var gpus: Int
    public var partition: String?
    public var qos: String?

    public init(cpus: Int, memoryMB: Int, timeLimitSeconds: Int, gpus: Int = 0, partition: String? = nil, qos: String? = nil) {
        self.cpus = cpus
        self.memoryMB = memoryMB
        self.timeLimitSeconds = timeLimitSeconds
        self.gpus = gpus
        self.partition = partition
        self.qos = qos
    }
}

/// A pipeline's default resources and the bounds inside which a request may change them.
///
/// Bounds protect the cluster and the group's allocation from a typo (`memory: 16T`); they are the
/// catalog author's statement of what the pipeline sensibly uses, not a site quota.
public struct ResourcePolicy: Sendable, Hashable {
    public let defaults: ResourceRequest
    public let cpus: ClosedRange<Int>
    public let gpus: ClosedRange<Int>
    public let memoryMB: ClosedRange<Int>
    public let timeLimitSeconds: ClosedRange<Int>

    /// The keys a request may override, under `resources` in the request.
    public static let overridableKeys = ["cpus", "gpus", "memory", "time_limit"]

    /// The request's resources: defaults with the overrides applied, or every reason they are refused.
    /// Pointers are relative to the `resources` object of the request.
    public func resolve(overrides: JSONValue?) -> Result<ResourceRequest, ValidationFailure> {
        var request = defaults
        guard let overrides, overrides != .null else { return .success(request) }
        guard case .object(let members) = overrides else {
            return .failure(ValidationFailure([ValidationError(pointer: .root, message: "must be an object such as {\"cpus\": 8, \"memory\": \"32G\"}")]))
        }
        var errors: [ValidationError] = []
        for key in members.keys.sorted() where !Self.overridableKeys.contains(key) {
            errors.append(ValidationError(pointer: JSONPointer(tokens: [key]),
                                          message: "cannot be set by a request\(EditDistance.hint(for: key, among: Self.overridableKeys)); a request may set \(Self.overridableKeys.joined(separator: ", "))"))
        }
        func count(_ key: String, _ range: ClosedRange<Int>, _ apply: (Int) -> Void) {
            guard let value = members[key] else { return }
            guard case .number(let n) = value, n.isIntegral else {
                errors.append(ValidationError(pointer: JSONPointer(tokens: [key]), message: "must be a whole number; got \(value.kindForHumans)"))
                return
            }
            // `Int(exactly:)`: a number past Int's range (1e300) is out of bounds, not a crash.
            guard let whole = Int(exactly: n), range.contains(whole) else {
                errors.append(ValidationError(pointer: JSONPointer(tokens: [key]), message: "must be between \(range.lowerBound) and \(range.upperBound) for this pipeline; got \(JSONValue.format(number: n))"))
                return
            }
            apply(whole)
        }
        count("cpus", cpus) { request.cpus = $0 }
        count("gpus", gpus) { request.gpus = $0 }
        /// Memory and time limits: text in Slurm's spelling, parsed, then checked against the bounds.
        func quantity(_ key: String, _ range: ClosedRange<Int>, parse: (String) -> Int?, show: (Int) -> String,
                      example: String, _ apply: (Int) -> Void) {
            guard let value = members[key] else { return }
            let text = value.stringValue ?? (value.numberValue.map { JSONValue.format(number: $0) } ?? "")
            let pointer = JSONPointer(tokens: [key])
            guard let parsed = parse(text) else {
                errors.append(ValidationError(pointer: pointer, message: "must be \(example); got \(value.jsonText)"))
                return
            }
            guard range.contains(parsed) else {
                errors.append(ValidationError(pointer: pointer, message: "must be between \(show(range.lowerBound)) and \(show(range.upperBound)) for this pipeline; got \(text)"))
                return
            }
            apply(parsed)
        }
        quantity("memory", memoryMB, parse: ResourceQuantities.megabytes, show: { ResourceQuantities.memoryText(megabytes: $0) },
                 example: "a memory size such as 512M or 16G") { request.memoryMB = $0 }
        quantity("time_limit", timeLimitSeconds, parse: ResourceQuantities.seconds, show: { ResourceQuantities.timeText(seconds: $0) },
                 example: "a time limit such as 90 (minutes), 08:00:00 or 1-00:00:00") { request.timeLimitSeconds = $0 }
        return errors.isEmpty ? .success(request) : .failure(ValidationFailure(errors.sorted()))
    }
}
