/// What a research group asks for when it submits a run: a pipeline, its parameters, the sample sheet,
/// and optional resources per step and a limit on tasks running at once.
public struct RunRequest: Sendable, Hashable {
    /// The fields a single job request has too (pipeline, group, parameters, description).
    public var base: JobRequest
    /// The sample sheet as sent: a list of row objects, or CSV/TSV text.
    public var samples: JSONValue?
    /// Resource overrides by step name (`{"align": {"cpus": 4}}`), within each step's bounds.
    public var resources: JSONValue?
    /// At most this many array tasks of the run at once (Slurm's `%` throttle); the group's quota caps it too.
    public var parallelLimit: Int?
    /// The client's labels, stored with the run and shown back (GA4GH WES `tags`).
    public var tags: [String: String]
    /// The request as a standard API received it (GA4GH WES), stored to be shown back as it came.
    public var received: JSONValue?

    public init(base: JobRequest, samples: JSONValue? = nil, resources: JSONValue? = nil, parallelLimit: Int? = nil,
                tags: [String: String] = [:], received: JSONValue? = nil) {
        self.base = base
        self.samples = samples
        self.resources = resources
        self.parallelLimit = parallelLimit
        self.tags = tags
        self.received = received
    }

    static let fields = ["pipeline_name", "parameters", "research_group", "description", "samples", "resources", "parallel_limit", "tags"]
    /// The most tasks a run may ask to run at once.
    public static let maximumParallelLimit = 10_000

    /// Reads a run request document, reporting every shape problem with its pointer.
    public init(document: JSONValue) throws(ValidationFailure) {
        guard case .object(var members) = document else {
            throw ValidationFailure([ValidationError(pointer: .root, message: "must be a JSON object with pipeline_name, research_group, parameters and samples")])
        }
        var errors: [ValidationError] = []
        for key in members.keys.sorted() where !Self.fields.contains(key) {
            errors.append(ValidationError(pointer: JSONPointer(tokens: [key]), message: "is not a field of a run request\(EditDistance.hint(for: key, among: Self.fields))"))
        }
        let samples = members.removeValue(forKey: "samples")
        let resources = members.removeValue(forKey: "resources")
        let (tags, tagErrors) = RunTags.read(members.removeValue(forKey: "tags"), at: JSONPointer(tokens: ["tags"]))
        errors += tagErrors
        var parallelLimit: Int?
        if let value = members.removeValue(forKey: "parallel_limit"), value != .null {
            if case .number(let n) = value, n.isIntegral, n >= 1, n <= Double(Self.maximumParallelLimit) {
                parallelLimit = Int(n)
            } else {
                errors.append(ValidationError(pointer: JSONPointer(tokens: ["parallel_limit"]), message: "must be a whole number from 1 to \(Self.maximumParallelLimit); got \(value.jsonText)"))
            }
        }
        if let resources, resources != .null, resources.objectValue == nil {
            errors.append(ValidationError(pointer: JSONPointer(tokens: ["resources"]), message: "must be an object of resources by step name, such as {\"align\": {\"cpus\": 4}}"))
        }
        for key in Self.fields where !JobRequest.fields.contains(key) { members[key] = nil }
        var base: JobRequest?
        do { base = try JobRequest(document: .object(members.filter { JobRequest.fields.contains($0.key) })) } catch { errors += error.errors }
        guard errors.isEmpty, let base else { throw ValidationFailure(errors.sorted()) }
        self.init(base: base, samples: samples, resources: resources, parallelLimit: parallelLimit, tags: tags)
    }
}
