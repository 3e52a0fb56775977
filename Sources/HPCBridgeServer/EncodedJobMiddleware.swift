import Foundation
import HPCBridge
import HPCBridgeAPI
import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// Answers `GET /v1/jobs/{id}` from a job's kept bytes (`EncodedJobs`) while its row has not changed,
/// and writes a page of `GET /v1/jobs` from its jobs' kept bytes, so neither encodes a job that was
/// encoded before (each answer's durations are worked out at its moment). Visibility is checked on every answer, kept or not: another group's job is a 404 as
/// ever, and a page's ids come from a query that only sees the caller's groups.
struct EncodedJobMiddleware: ServerMiddleware {
    /// What the job handler tells the middleware about the job it answered with (the handler's result
    /// is an encoded body, which this would otherwise have to decode).
    final class Outcome: Sendable {
        private let value = Mutex<Components.Schemas.Job?>(nil)
        func set(_ job: Components.Schemas.Job) { value.withLock { $0 = job } }
        var recorded: Components.Schemas.Job? { value.withLock { $0 } }
        @TaskLocal static var current: Outcome?
    }

    /// What the list handler hands over when this middleware writes the page: the jobs' bytes in page
    /// order and the next page's cursor. The handler then returns the page without its jobs, which this
    /// replaces with the assembled body.
    final class PageOutcome: Sendable {
        private let value = Mutex<(jobs: [[UInt8]], nextCursor: String?)?>(nil)
        func set(jobs: [[UInt8]], nextCursor: String?) { value.withLock { $0 = (jobs, nextCursor) } }
        var recorded: (jobs: [[UInt8]], nextCursor: String?)? { value.withLock { $0 } }
        @TaskLocal static var current: PageOutcome?
    }

    let encoded: EncodedJobs

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        switch operationID {
        case "getJob": return try await job(request, body: body, metadata: metadata, next: next)
        case "listJobs": return try await page(request, body: body, metadata: metadata, next: next)
        default: return try await next(request, body, metadata)
        }
    }

    private func job(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata,
                     next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        guard let principal = RequestPrincipal.current, let id = Self.jobID(in: request.path) else {
            return try await next(request, body, metadata)
        }
        let (kept, epoch) = encoded.lookup(id)
        if let kept, JobService.may(principal, seeGroup: kept.researchGroup) {
            return (HTTPResponse(status: .ok, headerFields: [.contentType: EncodedJobs.contentType]), HTTPBody(kept.bytes(now: Date())))
        }
        let outcome = Outcome()
        let (response, responseBody) = try await Outcome.$current.withValue(outcome) { try await next(request, body, metadata) }
        // The answer stands as the handler encoded it; what is kept is the job without its durations.
        if response.status == .ok, let job = outcome.recorded, let entry = try? encoded.entry(for: job, encoder: encoded.encoder()) {
            encoded.keep(entry, for: id, ifUnchangedSince: epoch)
        }
        return (response, responseBody)
    }

    private func page(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata,
                      next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        let outcome = PageOutcome()
        let (response, responseBody) = try await PageOutcome.$current.withValue(outcome) { try await next(request, body, metadata) }
        guard response.status == .ok, let page = outcome.recorded else { return (response, responseBody) }
        var headers = response.headerFields
        headers[.contentLength] = nil
        return (HTTPResponse(status: .ok, headerFields: headers), HTTPBody(EncodedJobs.page(of: page.jobs, nextCursor: page.nextCursor)))
    }

    /// The job id of `/v1/jobs/{id}` (a query string left out), read from the path's UTF-8 without
    /// copies (Foundation's `UUID(uuidString:)` runs `sscanf`, on every read of a job).
    static func jobID(in path: String?) -> UUID? {
        guard let path else { return nil }
        let bytes = path.utf8
        let prefix = "/v1/jobs/".utf8
        guard bytes.starts(with: prefix) else { return nil }
        let rest = bytes.dropFirst(prefix.count)
        let id = rest.prefix { $0 != UInt8(ascii: "?") }
        return UUID(canonicalUTF8: id)
    }
}
