import Foundation

/// One submitted run of a pipeline: its steps are jobs (`job` rows linked through `RunStep`), a scatter
/// step's array tasks are `RunTask`s. What is stored here never changes after acceptance; where the run
/// stands is derived from its steps, so it cannot disagree with them.
public struct Run: Sendable, Hashable {
    public var id: UUID
    public var pipelineName: String
    public var pipelineVersion: String
    public var researchGroup: String
    public var cluster: String
    public var description: String?
    /// The run's parameters with defaults applied, as JSON text.
    public var parametersJSON: String
    /// The validated sample-sheet rows (defaults applied), as a JSON list; `[]` without a sheet.
    public var samplesJSON: String
    public var runDirectory: String
    /// The most array tasks of one step running at once (Slurm's `%`), after the group's quota.
    public var parallelLimit: Int?
    public var createdAt: Date
    /// When a person asked to cancel the run (cleared by a resume): steps that the scheduler then ends
    /// for a cancelled dependency count as cancelled, not failed.
    public var cancelRequestedAt: Date?
    /// The client's labels (GA4GH WES `tags`), shown back by both APIs.
    public var tags: [String: String]
    /// The request as a standard API received it (GA4GH WES's `RunRequest`, JSON text), shown back as it
    /// came; nil for a run submitted through /v1.
    public var receivedRequestJSON: String?

    public init(id: UUID, pipelineName: String, pipelineVersion: String, researchGroup: String, cluster: String,
                description: String?, parametersJSON: String, samplesJSON: String, runDirectory: String,
                parallelLimit: Int?, createdAt: Date, cancelRequestedAt: Date? = nil, tags: [String: String] = [:],
                receivedRequestJSON: String? = nil) {
        self.id = id
        self.pipelineName = pipelineName
        self.pipelineVersion = pipelineVersion
        self.researchGroup = researchGroup
        self.cluster = cluster
        self.description = description
        self.parametersJSON = parametersJSON
        self.samplesJSON = samplesJSON
        self.runDirectory = runDirectory
        self.parallelLimit = parallelLimit
        self.createdAt = createdAt
        self.cancelRequestedAt = cancelRequestedAt
        self.tags = tags
        self.receivedRequestJSON = receivedRequestJSON
    }
}

/// A step of a run: the job that carries it and, for a scatter step, how many array tasks it has.
public struct RunStep: Sendable, Hashable {
    public var runID: UUID
    public var name: String
    /// The job (its id is the step id the scheduler comment carries).
    public var jobID: UUID
    /// Steps that must complete first (names).
    public var needs: [String]
    /// Array tasks, one per sample-sheet row; nil for a step submitted as one job.
    public var taskCount: Int?
    /// Where the step's logs, exit-code files and task scripts are.
    public var directory: String
    /// The files the step declares, rendered (one per task for a scatter step).
    public var outputs: [RunOutput]

    public init(runID: UUID, name: String, jobID: UUID, needs: [String], taskCount: Int?, directory: String, outputs: [RunOutput] = []) {
        self.runID = runID
        self.name = name
        self.jobID = jobID
        self.needs = needs
        self.taskCount = taskCount
        self.directory = directory
        self.outputs = outputs
    }
}

/// A file a step promises, as rendered for the run: relative to the run directory.
public struct RunOutput: Sendable, Hashable, Codable {
    public var name: String
    public var path: String
    /// The sample-sheet row, for an output of a scatter step.
    public var sampleID: String?

    public init(name: String, path: String, sampleID: String? = nil) {
        self.name = name
        self.path = path
        self.sampleID = sampleID
    }
}

/// One array task of a scatter step: one sample-sheet row.
public struct RunTask: Sendable, Hashable {
    public var runID: UUID
    public var step: String
    public var index: Int
    public var sampleID: String
    public var state: JobState
    public var failureKind: String?
    public var exitCode: Int?
    /// The task's own scheduler id once it started (Slurm gives a started task a job id of its own).
    public var nativeJobID: String?
    public var startedAt: Date?
    public var finishedAt: Date?

    public init(runID: UUID, step: String, index: Int, sampleID: String, state: JobState = .accepted) {
        self.runID = runID
        self.step = step
        self.index = index
        self.sampleID = sampleID
        self.state = state
    }
}

extension Run {
    /// Where a run stands, from its steps' jobs: running while any step runs, queued while steps wait
    /// and none runs, accepted until the first is submitted; when every step has ended, completed if
    /// all completed, failed if any failed or was lost, cancelled otherwise.
    public static func state(of steps: [JobState]) -> JobState {
        guard !steps.isEmpty else { return .accepted }
        if steps.allSatisfy(\.isTerminal) {
            if steps.allSatisfy({ $0 == .completed }) { return .completed }
            if steps.contains(where: { $0 == .failed || $0 == .lost }) { return .failed }
            return .cancelled
        }
        if steps.contains(where: { $0 == .running || $0 == .suspended }) { return .running }
        if steps.contains(where: { $0 == .failed || $0 == .lost }) { return .running }
        if steps.allSatisfy({ $0 == .accepted }) { return .accepted }
        if steps.contains(.held), !steps.contains(.queued) { return .held }
        return .queued
    }

    /// The lifecycle of an array step from its tasks, as the reconciler records it on the step's job:
    /// once every task has ended, completed or the first failure (by task index) with its kind; running
    /// once any task has started; otherwise the first waiting task's status, with its reason. Nil when
    /// the scheduler reports none of the tasks.
    public static func stepStatus(ofTasks tasks: [Int: SchedulerJobState], count: Int) -> SchedulerStatus? {
        guard !tasks.isEmpty else { return nil }
        let statuses = (0..<count).compactMap { tasks[$0]?.status }
        if statuses.count == count, statuses.allSatisfy(\.isTerminal) {
            return statuses.first { $0 != .completed } ?? .completed
        }
        if statuses.contains(where: \.hasStarted) { return .running }
        return statuses.first ?? .queued(reason: nil)
    }
}
