import ArgumentParser
import Foundation
import HPCBridge
import HPCBridgeAPI
import HTTPTypes
import OpenAPIRuntime
import OpenAPIURLSession

/// Where the service is and who is asking: shared by the thin client commands.
///
/// The token comes from `$HPCBRIDGE_TOKEN` or a file, never from an argument, so it does not show in
/// `ps` or shell history.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Service URL (default: $HPCBRIDGE_URL, else http://127.0.0.1:8080).", valueName: "URL"))
    var server: String?

    @Option(name: .long, help: ArgumentHelp("File holding the API token (default: $HPCBRIDGE_TOKEN).", valueName: "FILE"))
    var tokenFile: String?

    func client() throws -> Client {
        let (url, token) = try endpoint()
        return Client(serverURL: url, configuration: .init(dateTranscoder: .iso8601WithFractionalSeconds, jsonEncodingOptions: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]),
                      transport: URLSessionTransport(), middlewares: [BearerTokenMiddleware(token: token)])
    }

    /// The service URL and the token, from the options and the environment.
    func endpoint() throws -> (URL, String) {
        let environment = ProcessInfo.processInfo.environment
        let address = server ?? environment["HPCBRIDGE_URL"] ?? "http://127.0.0.1:8080"
        guard let url = URL(string: address), url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("--server must be an http(s) URL such as http://127.0.0.1:8080; got \(address)")
        }
        let token: String
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw ValidationError("cannot read the token file \(tokenFile)")
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let fromEnvironment = environment["HPCBRIDGE_TOKEN"], !fromEnvironment.isEmpty {
            token = fromEnvironment
        } else {
            throw ValidationError("no API token: set HPCBRIDGE_TOKEN or pass --token-file FILE (an admin creates one with `hpcbridge token create --group NAME`)")
        }
        return (url, token)
    }
}

/// Adds `Authorization: Bearer` to every request.
struct BearerTokenMiddleware: ClientMiddleware {
    let token: String

    func intercept(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer \(token)"
        return try await next(request, body, baseURL)
    }
}

/// Printing answers and refusals the same way in every client command.
enum ClientOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Prints a problem document (and each validation error as `POINTER: message`) and exits 1.
    static func refused(_ status: Int, _ problem: Components.Schemas.Problem?) -> ExitCode {
        printError("\(status) \(problem?.title ?? ""): \(problem?.detail ?? "no detail")")
        return ExitStatus.invalid
    }

    static func refused(_ problem: Components.Schemas.ValidationProblem) -> ExitCode {
        for error in problem.errors { printError("\(error.pointer): \(error.message)") }
        return ExitStatus.invalid
    }

    static func undocumented(_ status: Int) -> ExitCode {
        printError("the service answered HTTP \(status), which its contract does not list; check --server")
        return ExitStatus.unreadable
    }
}

/// `hpcbridge submit REQUEST.json`: submits a job request and prints the job.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "submit", abstract: "Submit a job request (JSON file, or - for stdin) and print the job.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The request: {pipeline_name, research_group, parameters, description?, resources?}.") var request: String
    @Option(name: .long, help: "Idempotency-Key: retrying with the same key returns the first attempt's job.") var idempotencyKey: String?

    func run() async throws {
        let document = try readJSON(request)
        let body: Components.Schemas.JobRequest
        do { body = try JSONDecoder().decode(Components.Schemas.JobRequest.self, from: Data(document.jsonText.utf8)) } catch {
            printError("\(request): not a job request (\(error)); see docs/research-groups.md, Job requests")
            throw ExitStatus.invalid
        }
        switch try await options.client().submitJob(headers: .init(idempotencyKey: idempotencyKey), body: .json(body)) {
        case .created(let created): try ClientOutput.print(try created.body.json)
        case .ok(let ok): try ClientOutput.print(try ok.body.json)
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
}

/// `hpcbridge status ID`: one job with its transitions.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a job with its transitions.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The job id (a UUID).") var id: String

    func run() async throws {
        switch try await options.client().getJob(path: .init(id: id)) {
        case .ok(let ok): try ClientOutput.print(try ok.body.json)
        case .unauthorized(let r): throw ClientOutput.refused(401, try? r.body.applicationProblemJson)
        case .notFound(let r): throw ClientOutput.refused(404, try? r.body.applicationProblemJson)
        case .serviceUnavailable(let r): throw ClientOutput.refused(503, try? r.body.applicationProblemJson)
        case .undocumented(let status, _): throw ClientOutput.undocumented(status)
        }
    }
}

/// `hpcbridge list`: the caller's jobs, newest first, one line each.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs, newest first (all pages).")
    @OptionGroup var options: ClientOptions
    @Option(name: .long, help: "Only jobs in this state (repeatable).") var state: [String] = []
    @Option(name: .long, help: "Only jobs of this pipeline.") var pipeline: String?
    @Option(name: .long, help: "Only this research group (admin tokens).") var group: String?
    @Option(name: .long, help: "Stop after this many jobs.") var limit: Int = 1000

    func run() async throws {
        let states = try state.map { name in
            guard let s = Components.Schemas.JobState(rawValue: name) else {
                throw ValidationError("unknown state \(name); states: \(Components.Schemas.JobState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return s
        }
        let client = try options.client()
        var cursor: String?
        var shown = 0
        print("ID\tSTATE\tPIPELINE\tGROUP\tNATIVE\tCREATED")
        repeat {
            let query = Operations.ListJobs.Input.Query(researchGroup: group, state: states.isEmpty ? nil : states, pipeline: pipeline,
                                                        cursor: cursor, limit: min(500, limit - shown))
            switch try await client.listJobs(query: query) {
            case .ok(let ok):
                let page = try ok.body.json
                for job in page.jobs {
                    print([job.id, job.state.rawValue, job.pipelineName, job.researchGroup, job.nativeJobId ?? "-",
                           job.createdAt.formatted(.iso8601)].joined(separator: "\t"))
                }
                shown += page.jobs.count
                cursor = page.nextCursor
            case .badRequest(let r): throw ClientOutput.refused(400, try? r.body.applicationProblemJson)
            case .unauthorized(let r): throw ClientOutput.refused(401, try? r.body.applicationProblemJson)
            case .forbidden(let r): throw ClientOutput.refused(403, try? r.body.applicationProblemJson)
            case .serviceUnavailable(let r): throw ClientOutput.refused(503, try? r.body.applicationProblemJson)
            case .undocumented(let status, _): throw ClientOutput.undocumented(status)
            }
        } while cursor != nil && shown < limit
    }
}

/// `hpcbridge cancel ID`: asks the service to cancel a job.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a job; it reaches `cancelled` on a following reconcile.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The job id (a UUID).") var id: String

    func run() async throws {
        switch try await options.client().cancelJob(path: .init(id: id)) {
        case .accepted(let accepted): try ClientOutput.print(try accepted.body.json)
        case .unauthorized(let r): throw ClientOutput.refused(401, try? r.body.applicationProblemJson)
        case .notFound(let r): throw ClientOutput.refused(404, try? r.body.applicationProblemJson)
        case .conflict(let r): throw ClientOutput.refused(409, try? r.body.applicationProblemJson)
        case .serviceUnavailable(let r): throw ClientOutput.refused(503, try? r.body.applicationProblemJson)
        case .undocumented(let status, _): throw ClientOutput.undocumented(status)
        }
    }
}
