import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HPCBridge
import OpenAPIRuntime

/// `hpcbridge watch [JOB]`: follows job transitions as they happen (`GET /v1/events`), one line each;
/// reconnects with `Last-Event-ID` when the connection drops, so nothing is missed. With a job id it
/// ends when the job ends: status 0 for completed, 1 otherwise.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Follow job state changes live (all your jobs, or one).")
    @OptionGroup var options: ClientOptions
    @Argument(help: "Only this job (a UUID); the command ends when it ends.") var job: String?
    @Option(name: .long, help: "Give up after this many seconds with status 3 (default: never).") var timeout: Double?

    /// One transition as the stream sends it.
    struct Transition: Decodable, Sendable, Hashable {
        let job_id: String
        let research_group: String
        let pipeline_name: String
        let from_state: String?
        let to_state: String
        let at: String
        let reason: String?
    }

    func run() async throws {
        guard let timeout else { return try await follow() }
        // With a time limit the watch races a timer; silence on the stream does not hold it up.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await follow() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                printError("no end within \(timeout) s")
                throw ExitCode(3)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    func follow() async throws {
        let (url, token) = try options.endpoint()
        var events = URLComponents(url: url.appendingPathComponent("v1/events"), resolvingAgainstBaseURL: false)!
        if let job {
            guard UUID(uuidString: job) != nil else { throw ValidationError("\(job) is not a job id (a UUID)") }
            events.queryItems = [URLQueryItem(name: "job_id", value: job.lowercased())]
        }
        // Replay the job's whole history first; for all jobs, start from now.
        var lastEventID: String? = job == nil ? nil : "0"
        let progress = job != nil && isatty(STDOUT_FILENO) == 1 ? ProgressLine() : nil
        defer { progress?.stop() }
        var attempts = 0
        while !Task.isCancelled {
            do {
                for try await event in try EventStreamReader.open(events.url!, token: token, lastEventID: lastEventID)
                    .asDecodedServerSentEventsWithJSONData(of: Transition.self) {
                    attempts = 0
                    if let id = event.id { lastEventID = id }
                    guard let t = event.data else { continue }
                    progress?.clear()
                    print(Self.line(t))
                    progress?.update(state: t.to_state, since: Self.date(t.at))
                    if job != nil, ["completed", "failed", "cancelled", "lost"].contains(t.to_state) {
                        throw t.to_state == "completed" ? ExitCode.success : ExitStatus.invalid
                    }
                }
            } catch let exit as ExitCode {
                throw exit
            } catch let refusal as EventStreamReader.Refused {
                printError(refusal.description)
                throw refusal.status == 404 || refusal.status == 401 ? ExitStatus.invalid : ExitStatus.unreadable
            } catch {
                attempts += 1
                if attempts > 20 { printError("the event stream keeps failing (\(error)); giving up"); throw ExitStatus.unreadable }
            }
            // The stream ended (the service restarted) or failed: reconnect and resume after the last id.
            try await Task.sleep(for: .seconds(min(30, 1 << min(attempts, 5))))
        }
    }

    static func date(_ text: String) -> Date {
        (try? Date(text, strategy: Date.iso8601WithFractionalSeconds)) ?? Date()
    }

    static func line(_ t: Transition) -> String {
        let from = t.from_state.map { "\($0) → " } ?? ""
        return "\(t.at)  \(t.job_id)  \(t.research_group)/\(t.pipeline_name)  \(from)\(t.to_state)\(t.reason.map { "  (\($0))" } ?? "")"
    }
}

/// Streams a response body chunk by chunk as it arrives (the generated client's Linux transport
/// collects whole bodies, which never ends for an event stream).
final class EventStreamReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// The service answered something other than a stream.
    struct Refused: Error, CustomStringConvertible {
        let status: Int
        let detail: String
        var description: String { "\(status): \(detail)" }
    }

    private let continuation: AsyncThrowingStream<ArraySlice<UInt8>, any Error>.Continuation
    private var status = 0
    private var errorBody = Data()

    private init(_ continuation: AsyncThrowingStream<ArraySlice<UInt8>, any Error>.Continuation) {
        self.continuation = continuation
    }

    static func open(_ url: URL, token: String, lastEventID: String?) throws -> HTTPBody {
        var request = URLRequest(url: url)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        if let lastEventID { request.setValue(lastEventID, forHTTPHeaderField: "Last-Event-ID") }
        request.timeoutInterval = 3600
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ArraySlice<UInt8>.self)
        let reader = EventStreamReader(continuation)
        let session = URLSession(configuration: .default, delegate: reader, delegateQueue: nil)
        let task = session.dataTask(with: request)
        continuation.onTermination = { _ in
            task.cancel()
            session.invalidateAndCancel()
        }
        task.resume()
        return HTTPBody(stream, length: .unknown, iterationBehavior: .single)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if status == 200 { continuation.yield(ArraySlice(data)) } else { errorBody.append(data) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if let error {
            continuation.finish(throwing: error)
        } else if status != 200 {
            let detail = (try? JSONValue.parse(errorBody))?["detail"]?.stringValue ?? String(decoding: errorBody, as: UTF8.self)
            continuation.finish(throwing: Refused(status: status, detail: detail))
        } else {
            continuation.finish()
        }
        session.finishTasksAndInvalidate()
    }
}

/// On a terminal, one line under the transitions that shows the job's state and how long it has been
/// in it, rewritten every second (not drawn when the output is a file or a pipe).
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private var state = "connecting"
    private var since = Date()
    private var ticker: Task<Void, Never>?

    init() {
        ticker = Task { [weak self] in
            while !Task.isCancelled {
                self?.draw()
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// The job's state and when it entered it (the transition's time, also for replayed history).
    func update(state: String, since: Date) {
        lock.withLock {
            self.state = state
            self.since = since
        }
        draw()
    }

    func clear() {
        lock.withLock { FileHandle.standardOutput.write(Data("\r\u{1B}[2K".utf8)) }
    }

    private func draw() {
        lock.withLock {
            let seconds = Int(Date().timeIntervalSince(since))
            let text = "\r\u{1B}[2K  \(state) for \(seconds / 3600 > 0 ? "\(seconds / 3600)h " : "")\((seconds / 60) % 60)m \(seconds % 60)s"
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    func stop() {
        ticker?.cancel()
        clear()
    }
}
