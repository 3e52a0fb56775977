import Foundation

/// A research group's request to run a pipeline, in the shape the API and the examples use:
/// `{pipeline_name, parameters, research_group, description, resources?}`.
public struct JobRequest: Sendable, Hashable {
    public var pipelineName: String
    public var parameters: JSONValue
    public var researchGroup: String
    public var description: String?
    /// Optional overrides of the pipeline's default resources (`cpus`, `memory`, `time_limit`, `gpus`).
    public var resources: JSONValue?

    public init(pipelineName: String, parameters: JSONValue, researchGroup: String, description: String? = nil, resources: JSONValue? = nil) {
        self.pipelineName = pipelineName
        self.parameters = parameters
        self.researchGroup = researchGroup
        self.description = description
        self.resources = resources
    }

    static let fields = ["pipeline_name", "parameters", "research_group", "description", "resources"]
    /// The longest description accepted; it is stored and shown, never parsed.
    public static let maximumDescriptionLength = 2000

    /// Reads a request document, reporting every shape problem with its pointer.
    public init(document: JSONValue) throws(ValidationFailure) {
        var errors: [ValidationError] = []
        guard case .object(let members) = document else {
            throw ValidationFailure([ValidationError(pointer: .root, message: "must be a JSON object with pipeline_name, research_group and parameters")])
        }
        for key in members.keys.sorted() where !Self.fields.contains(key) {
            errors.append(ValidationError(pointer: JSONPointer(tokens: [key]), message: "is not a field of a job request\(EditDistance.hint(for: key, among: Self.fields))"))
        }
        func text(_ key: String, required: Bool) -> String? {
            guard let value = members[key], value != .null else {
                if required { errors.append(ValidationError(pointer: JSONPointer(tokens: [key]), message: "is required but missing")) }
                return nil
            }
            guard case .string(let s) = value else {
                errors.append(ValidationError(pointer: JSONPointer(tokens: [key]), message: "must be text; got \(value.kindForHumans)"))
                return nil
            }
            return s
        }
        let pipeline = text("pipeline_name", required: true)
        let group = text("research_group", required: true)
        let description = text("description", required: false)
        if let description {
            if description.unicodeScalars.count > Self.maximumDescriptionLength {
                errors.append(ValidationError(pointer: JSONPointer(tokens: ["description"]), message: "must be at most \(Self.maximumDescriptionLength) characters long"))
            }
            if let found = SchemaValidator.firstControlCharacter(in: description) {
                errors.append(ValidationError(pointer: JSONPointer(tokens: ["description"]), message: SchemaValidator.controlCharacterMessage(found)))
            }
        }
        let parameters = members["parameters"] ?? .object([:])
        if case .object = parameters {} else {
            errors.append(ValidationError(pointer: JSONPointer(tokens: ["parameters"]), message: "must be an object of parameter values; got \(parameters.kindForHumans)"))
        }
        guard errors.isEmpty, let pipeline, let group else { throw ValidationFailure(errors.sorted()) }
        self.init(pipelineName: pipeline, parameters: parameters, researchGroup: group, description: description, resources: members["resources"])
    }

    /// True when a document looks like a request envelope rather than bare parameters.
    public static func isEnvelope(_ document: JSONValue) -> Bool {
        document["pipeline_name"] != nil && document["parameters"] != nil
    }
}
