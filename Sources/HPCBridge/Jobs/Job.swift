import Foundation

/// One job as hpcbridge keeps it: the request, what was submitted, and where it is now.
public struct Job: Sendable, Hashable, Codable {
    public var id: UUID
    public var state: JobState
    public var failureKind: String?
    public var failureReason: String?
    public var exitCode: Int?
    public var exitSignal: Int?
    public var pipelineName: String
    public var pipelineVersion: String
    /// The parameters with defaults applied, as JSON text.
    public var parametersJSON: String
    public var researchGroup: String
    public var description: String?
    public var cluster: String
    public var nativeJobID: String?
    public var createdAt: Date
    public var submittedAt: Date?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// SHA-256 of the rendered script, hex.
    public var scriptDigest: String
    /// The rendered script and its submission facts (`BatchJobSpec` as JSON): the intent a restarted
    /// service submits from when a crash came between accepting and submitting.
    public var intentJSON: String
    public var requeueCount: Int
    /// When the controller was first seen not to list the job (for the exit-code file deadline).
    public var vanishedAt: Date?

    public init(id: UUID, state: JobState = .accepted, pipelineName: String, pipelineVersion: String, parametersJSON: String,
                researchGroup: String, description: String?, cluster: String, createdAt: Date, scriptDigest: String, intentJSON: String) {
        self.id = id
        self.state = state
        self.pipelineName = pipelineName
        self.pipelineVersion = pipelineVersion
        self.parametersJSON = parametersJSON
        self.researchGroup = researchGroup
        self.description = description
        self.cluster = cluster
        self.createdAt = createdAt
        self.scriptDigest = scriptDigest
        self.intentJSON = intentJSON
        self.requeueCount = 0
    }
}

/// One entry of a job's append-only history.
public struct JobTransition: Sendable, Hashable, Codable {
    public var sequence: Int64?
    public var jobID: UUID
    public var fromState: JobState?
    public var toState: JobState
    public var at: Date
    /// Who moved it: `api`, `submitter`, `reconciler`, `recovery`.
    public var source: String
    public var reason: String?

    public init(jobID: UUID, fromState: JobState?, toState: JobState, at: Date, source: String, reason: String?) {
        self.jobID = jobID
        self.fromState = fromState
        self.toState = toState
        self.at = at
        self.source = source
        self.reason = reason
    }
}
