import Foundation
import HPCBridge
import HPCBridgeAPI
import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// Checks a job submission's body before the generated decoder sees it, so a client learns everything
/// wrong with its request at once: 400 for a malformed Idempotency-Key (the generated code does not
/// check header patterns), 415 for another media type, 413 over the size limit, 400 for text that is not
/// JSON, and 422 listing every envelope problem with its JSON Pointer (the generated decoder would stop
/// at the first). It also restores the 201's Location header (see below).
///
/// A job submission that passes these checks is answered here, from the one parse of its body, with the
/// job as `JobJSON` writes it; the generated handler is the path only for an Accept header other than
/// JSON's. (Through the generated code, the body was decoded a second time into the contract's types and
/// the answer encoded from them: 2.3 % of a submission's CPU for values that were thrown away.)
struct SubmitRequestMiddleware: ServerMiddleware {
    /// Requests are parameters and a description, never data: a megabyte is generous.
    static let maximumBodyBytes = 1 << 20
    /// How long a body may take to arrive (the config's `http.body_timeout_seconds`, read per request).
    let bodyTimeoutSeconds: @Sendable () -> Double
    /// The handlers, for answering job submissions here (nil: every submission takes the generated path).
    var api: JobAPI?

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        guard operationID == "submitJob" || operationID == "submitRun" else { return try await next(request, body, metadata) }
        if let refusal = Self.idempotencyKeyRefusal(request) { return ErrorFormat.problem.response(refusal) }
        let contentType = request.headerFields[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard contentType == "application/json" else {
            return ProblemResponse.make(.unsupportedMediaType, detail: "send the request as `Content-Type: application/json`; got \(contentType.map { "`\($0)`" } ?? "no Content-Type")")
        }
        let collected = await Self.collect(body ?? HTTPBody(), upTo: Self.maximumBodyBytes, within: bodyTimeoutSeconds())
        guard case .complete(let data) = collected else { return ErrorFormat.problem.response(collected.refusal!) }
        let document: JSONValue
        do { document = try JSONValue.parse(data) } catch {
            return ProblemResponse.make(.badRequest, detail: "the request body is not valid JSON; check quotes, commas and brackets")
        }
        do {
            if operationID == "submitRun" {
                _ = try RunRequest(document: document)
            } else {
                _ = try JobRequest(document: document)
            }
            if let resources = document["resources"], case .object = resources {} else if let resources = document["resources"], resources != .null {
                throw ValidationFailure([ValidationError(pointer: JSONPointer(tokens: ["resources"]), message: "must be an object such as {\"cpus\": 8, \"memory\": \"32G\"}; got \(resources.kindForHumans)")])
            }
            if operationID == "submitJob" {
                let errors = Self.resourceShapeErrors(Self.asDecoded(document)["resources"])
                if !errors.isEmpty { throw ValidationFailure(errors) }
            }
        } catch let failure as ValidationFailure {
            return try ProblemResponse.validation(failure.errors)
        }
        if operationID == "submitJob", let api, Self.acceptsJSON(request.headerFields[.accept]) {
            do {
                let (job, transitions, created) = try await api.answerSubmission(Self.asDecoded(document), idempotencyKey: request.headerFields[Self.idempotencyKey])
                var fields: HTTPFields = [.contentType: "application/json; charset=utf-8"]
                if created { fields[.location] = JobAPI.location(of: job) }
                let bytes = try JobJSON.bytes(of: job, transitions: transitions, now: Date(), dates: api.encoded.dateTranscoder)
                return (HTTPResponse(status: created ? .created : .ok, headerFields: fields), HTTPBody(bytes))
            } catch let refusal as JobService.Refusal {
                return try Self.problem(for: refusal)
            }
        }
        var (response, responseBody) = try await next(request, HTTPBody(data), metadata)
        // The generated serializer percent-encodes header values (OpenAPI's "simple" style), which
        // would turn the Location path into %2Fv1%2Fjobs%2F...; a URI reference goes out as written.
        if let location = response.headerFields[.location], let decoded = location.removingPercentEncoding {
            response.headerFields[.location] = decoded
        }
        return (response, responseBody)
    }

    /// A refused submission's problem document, with the statuses `JobAPI.submitJob` answers (its
    /// contract has no 404: a submission's "not found" is 403).
    static func problem(for refusal: JobService.Refusal) throws -> (HTTPResponse, HTTPBody?) {
        ErrorFormat.problem.response(RefusalAnswer(refusal, on: .submission))
    }

    /// Whether an Accept header lets the answer be JSON, as the generated code judges it: no header, or a
    /// media range of `application/json`, `application/*` or `*/*`. Anything else takes the generated path.
    static func acceptsJSON(_ accept: String?) -> Bool {
        guard let accept else { return true }
        return accept.split(separator: ",").contains { range in
            let type = range.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            return type == "application/json" || type == "application/*" || type == "*/*"
        }
    }

    /// What the contract's `ResourceOverrides` says of a request's `resources` (nulls already dropped),
    /// which the generated decoder checked while it read the body: no other members, `cpus` and `gpus`
    /// whole numbers, `memory` and `time_limit` text. The values' bounds are the pipeline's, checked by
    /// the planner.
    static func resourceShapeErrors(_ resources: JSONValue?) -> [ValidationError] {
        guard case .object(let members)? = resources else { return [] }
        var errors: [ValidationError] = []
        let allowed = ResourcePolicy.overridableKeys
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            let pointer = JSONPointer(tokens: ["resources", key])
            switch key {
            case "cpus", "gpus":
                if case .number(let n) = value, Int(exactly: n) != nil { continue }
                errors.append(ValidationError(pointer: pointer, message: "must be a whole number; got \(value.kindForHumans)"))
            case "memory", "time_limit":
                if case .string = value { continue }
                errors.append(ValidationError(pointer: pointer, message: "must be text such as \(key == "memory" ? "\"32G\"" : "\"1-00:00:00\""); got \(value.kindForHumans)"))
            default:
                errors.append(ValidationError(pointer: pointer, message: "cannot be set by a request\(EditDistance.hint(for: key, among: allowed)); a request may set \(allowed.joined(separator: ", "))"))
            }
        }
        return errors
    }

    /// A job request as the generated decoder sees it: an optional member sent as `null` is absent (at the
    /// top level and in `resources`, the typed members); `parameters` is free-form and keeps its nulls.
    /// The handler reads the request from this, so a `"gpus": null` means "not set" as it did when the
    /// handler re-encoded the decoded value.
    static func asDecoded(_ document: JSONValue) -> JSONValue {
        guard case .object(var members) = document else { return document }
        members = members.filter { $0.value != .null }
        if case .object(let resources)? = members["resources"] {
            members["resources"] = .object(resources.filter { $0.value != .null })
        }
        return .object(members)
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    /// The contract's pattern for the key: the store keys retries by it, and a client must be able to
    /// send it back unchanged in a header.
    static func isValidIdempotencyKey(_ key: String) -> Bool {
        (1...128).contains(key.utf8.count) && key.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || [0x2E, 0x5F, 0x3A, 0x2D].contains(byte)
        }
    }

    /// A submission's malformed Idempotency-Key (the generated code does not check header patterns), for
    /// both APIs' submissions.
    static func idempotencyKeyRefusal(_ request: HTTPRequest) -> RefusalAnswer? {
        guard let key = request.headerFields[idempotencyKey], !isValidIdempotencyKey(key) else { return nil }
        return RefusalAnswer(status: .badRequest, message: "the Idempotency-Key header must be 1-128 letters, digits, '.', '_', ':' or '-' (a UUID is a good key)")
    }

    enum Collected {
        case complete(Data)
        case tooLarge(limit: Int)
        case timedOut(seconds: Double)

        /// Why a body was not taken (nil when it was), in the same words for both APIs.
        var refusal: RefusalAnswer? {
            switch self {
            case .complete: nil
            case .tooLarge(let limit):
                RefusalAnswer(status: .contentTooLarge,
                              message: "the request body is over \(limit) bytes; a request carries parameters and a sample sheet, not data: pass file paths")
            case .timedOut(let seconds):
                RefusalAnswer(status: .requestTimeout, message: "the request body did not arrive within \(Int(seconds)) s; send it in one go")
            }
        }
    }

    /// Reads the whole body, unless it is over `limit` bytes or still arriving after `seconds`.
    ///
    /// The body is read in one task that the deadline cancels, from `DeadlineTimer`'s thread: a task
    /// group of a reader and a sleeper cost every submission two tasks and a dispatch timer.
    static func collect(_ body: HTTPBody, upTo limit: Int, within seconds: Double) async -> Collected {
        await collect(limit: limit, within: seconds) { try await Data(collecting: body, upTo: limit) }
    }

    /// `collect` for any body: `read` reads it whole and throws when it is over `limit` (the web pages'
    /// forms come as Hummingbird's request body, not through the OpenAPI runtime).
    static func collect(limit: Int, within seconds: Double, _ read: @escaping @Sendable () async throws -> Data) async -> Collected {
        let expired = ExpiryFlag()
        let reading = Task { try await read() }
        let timer = DeadlineTimer.shared.schedule(after: .nanoseconds(Int64(seconds * 1e9))) {
            expired.set()
            reading.cancel()
        }
        let result = await reading.result
        timer.cancel()
        switch result {
        case .success(let data): return .complete(data)
        // Cancelled by the deadline (the body's reader ends on cancellation), or over the limit.
        case .failure: return expired.isSet ? .timedOut(seconds: seconds) : .tooLarge(limit: limit)
        }
    }

    /// Whether a body's deadline has passed.
    final class ExpiryFlag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }
}
