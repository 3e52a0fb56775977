import ArgumentParser
import Foundation
import HPCBridge
import HPCBridgeAPI

/// `hpcbridge run submit|status|tasks|cancel|watch`: runs of multi-step pipelines over sample sheets,
/// through the same generated client as the job commands.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Submit and follow runs of pipelines over sample sheets.",
        subcommands: [RunSubmitCommand.self, RunStatusCommand.self, RunTasksCommand.self, RunCancelCommand.self, RunResumeCommand.self,
                      RunWatchCommand.self])
}

/// `hpcbridge run submit REQUEST.json [--samples SHEET]`: submits a run and prints it.
struct RunSubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Submit a run request (JSON file, or - for stdin) and print the run.",
        discussion: "With --samples, the sample sheet comes from a CSV or TSV file (header line first) instead of the request's samples.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The request: {pipeline_name, research_group, parameters, samples?, description?, resources?, parallel_limit?}.") var request: String
    @Option(name: .long, help: ArgumentHelp("A CSV or TSV sample sheet file.", valueName: "SHEET")) var samples: String?
    @Option(name: .long, help: "Idempotency-Key: retrying with the same key returns the first attempt's run.") var idempotencyKey: String?
    @Flag(name: .long, help: "Print only the run's id (for scripts: ID=$(hpcbridge run submit R.json --id-only)).") var idOnly = false

    func run() async throws {
        var document = try readJSON(request)
        if let samples {
            guard let data = FileManager.default.contents(atPath: samples) else { throw ValidationError("cannot read the sample sheet \(samples)") }
            guard case .object(var members) = document else { throw ValidationError("\(request): a run request is a JSON object") }
            members["samples"] = .string(String(decoding: data, as: UTF8.self))
            document = .object(members)
        }
        let body: Components.Schemas.RunRequest
        do { body = try JSONDecoder().decode(Components.Schemas.RunRequest.self, from: Data(document.jsonText.utf8)) } catch {
            printError("\(request): not a run request (\(error)); see docs/runs.md")
            throw ExitStatus.invalid
        }
        switch try await options.client().submitRun(headers: .init(idempotencyKey: idempotencyKey), body: .json(body)) {
        case .created(let created): try show(try created.body.json)
        case .ok(let ok): try show(try ok.body.json)
        case .unprocessableContent(let r): throw ClientOutput.refused(try r.body.applicationProblemJson)
        case .unauthorized(let r): throw ClientOutput.refused(401, try? r.body.applicationProblemJson)
        case .forbidden(let r): throw ClientOutput.refused(403, try? r.body.applicationProblemJson)
        case .conflict(let r): throw ClientOutput.refused(409, try? r.body.applicationProblemJson)
        case .contentTooLarge(let r): throw ClientOutput.refused(413, try? r.body.applicationProblemJson)
        case .unsupportedMediaType(let r): throw ClientOutput.refused(415, try? r.body.applicationProblemJson)
        case .tooManyRequests(let r): throw ClientOutput.refused(429, try? r.body.applicationProblemJson)
        case .serviceUnavailable(let r): throw ClientOutput.refused(503, try? r.body.applicationProblemJson)
        case .badRequest(let r): throw ClientOutput.refused(400, try? r.body.applicationProblemJson)
        case .requestTimeout(let r): throw ClientOutput.refused(408, try? r.body.applicationProblemJson)
        case .undocumented(let status, _): throw ClientOutput.undocumented(status)
        }
    }

    private func show(_ run: Components.Schemas.Run) throws {
        if idOnly { print(run.id) } else { try ClientOutput.print(run) }
    }
}

/// Reads one run, for the commands that show or follow it.
func fetchRun(_ id: String, _ options: ClientOptions) async throws -> Components.Schemas.Run {
    switch try await options.client().getRun(path: .init(id: id)) {
    case .ok(let ok): return try ok.body.json
    case .unauthorized(let r): throw ClientOutput.refused(401, try? r.body.applicationProblemJson)
    case .notFound(let r): throw ClientOutput.refused(404, try? r.body.applicationProblemJson)
    case .serviceUnavailable(let r): throw ClientOutput.refused(503, try? r.body.applicationProblemJson)
    case .undocumented(let status, _): throw ClientOutput.undocumented(status)
    }
}

/// `hpcbridge run status ID`: the run with its steps, task counts and outputs.
struct RunStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a run: steps, task counts by state, outputs.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The run id (a UUID).") var id: String

    func run() async throws { try ClientOutput.print(try await fetchRun(id, options)) }
}

/// `hpcbridge run tasks ID [--state S]... [--step NAME]`: one line per array task.
struct RunTasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks", abstract: "List a run's array tasks, one tab-separated line each: step, index, sample, state, failure kind, exit code, native id, stderr.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The run id (a UUID).") var id: String
    @Option(name: .long, help: "Only tasks in this state (repeatable).") var state: [String] = []
    @Option(name: .long, help: "Only this step's tasks.") var step: String?

    func run() async throws {
        let states = try state.map { name in
            guard let s = Components.Schemas.JobState(rawValue: name) else {
                throw ValidationError("unknown state \(name); states: \(Components.Schemas.JobState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return s
        }
        switch try await options.client().listRunTasks(path: .init(id: id), query: .init(state: states.isEmpty ? nil : states, step: step)) {
        case .ok(let ok):
            for task in try ok.body.json.tasks {
                print([task.step, String(task.index), task.sampleId, task.state.rawValue, task.failureKind?.rawValue ?? "-",
                       task.exitCode.map(String.init) ?? "-", task.nativeJobId ?? "-", task.stderrPath].joined(separator: "\t"))
            }
        case .unauthorized(let r): throw ClientOutput.refused(401, try? r.body.applicationProblemJson)
        case .notFound(let r): throw ClientOutput.refused(404, try? r.body.applicationProblemJson)
        case .badRequest(let r): throw ClientOutput.refused(400, try? r.body.applicationProblemJson)
        case .serviceUnavailable(let r): throw ClientOutput.refused(503, try? r.body.applicationProblemJson)
        case .undocumented(let status, _): throw ClientOutput.undocumented(status)
        }
    }
}

/// `hpcbridge run cancel ID`: cancels every step of the run that has not ended.
struct RunCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel every step of a run that has not ended.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The run id (a UUID).") var id: String

    func run() async throws {
        switch try await options.client().cancelRun(path: .init(id: id)) {
        case .accepted(let accepted): try ClientOutput.print(try accepted.body.json)
        case .unauthorized(let r): throw ClientOutput.refused(401, try? r.body.applicationProblemJson)
        case .notFound(let r): throw ClientOutput.refused(404, try? r.body.applicationProblemJson)
        case .conflict(let r): throw ClientOutput.refused(409, try? r.body.applicationProblemJson)
        case .serviceUnavailable(let r): throw ClientOutput.refused(503, try? r.body.applicationProblemJson)
        case .undocumented(let status, _): throw ClientOutput.undocumented(status)
        }
    }
}

/// `hpcbridge run resume ID`: runs again what did not complete in an ended run.
struct RunResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Run again the failed or cancelled tasks and steps of an ended run (and what depends on them).")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The run id (a UUID).") var id: String

    func run() async throws {
        switch try await options.client().resumeRun(path: .init(id: id)) {
        case .accepted(let accepted): try ClientOutput.print(try accepted.body.json)
        case .unauthorized(let r): throw ClientOutput.refused(401, try? r.body.applicationProblemJson)
        case .notFound(let r): throw ClientOutput.refused(404, try? r.body.applicationProblemJson)
        case .conflict(let r): throw ClientOutput.refused(409, try? r.body.applicationProblemJson)
        case .serviceUnavailable(let r): throw ClientOutput.refused(503, try? r.body.applicationProblemJson)
        case .undocumented(let status, _): throw ClientOutput.undocumented(status)
        }
    }
}

/// `hpcbridge run watch ID`: a progress bar per step until the run ends.
struct RunWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Follow a run: one progress line per step (tasks done of all) until the run ends.",
        discussion: "Exit status: 0 completed; 1 failed, cancelled or lost (or 401/404); 3 timeout.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The run id (a UUID).") var id: String
    @Option(name: .long, help: "Give up after this many seconds.") var timeout: Double = 86_400
    @Option(name: .long, help: "Seconds between two looks at the run.") var interval: Double = 2

    func run() async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while true {
            let run = try await fetchRun(id, options)
            let lines = run.steps.map(Self.progressLine)
            let text = "run \(run.id) \(run.state.rawValue)\n" + lines.joined(separator: "\n")
            if text != last { print(text); last = text }
            switch run.state {
            case .completed: return
            case .failed, .cancelled, .lost: throw ExitStatus.invalid
            default: break
            }
            if Date() >= deadline {
                printError("run \(run.id) still \(run.state.rawValue) after \(Int(timeout)) s")
                throw ExitCode(3)
            }
            try await Task.sleep(for: .seconds(interval))
        }
    }

    /// `align        [##########----------]  2/4 done  completed 2, running 1, queued 1`
    static func progressLine(_ step: Components.Schemas.RunStep) -> String {
        let counts = step.taskCounts.additionalProperties
        let total = step.taskCount ?? 1
        let done = step.taskCount == nil ? (["completed", "failed", "cancelled", "lost"].contains(step.state.rawValue) ? 1 : 0)
            : counts.filter { ["completed", "failed", "cancelled", "lost"].contains($0.key) }.values.reduce(0, +)
        let width = 20
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let detail = step.taskCount == nil ? step.state.rawValue : counts.keys.sorted().map { "\($0) \(counts[$0]!)" }.joined(separator: ", ")
        return "  \(step.name.padding(toLength: max(14, step.name.count), withPad: " ", startingAt: 0)) [\(bar)] \(done)/\(total) done  \(detail)"
    }
}
