import Foundation
import HPCBridge
import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// Answers `GET /v1/jobs/{id}` from the bytes of an earlier answer while the job's row has not changed,
/// so a job that is read again and again is not encoded again and again (encoding was a quarter of a
/// job read's CPU in the read benchmark's profile).
///
/// Kept answers are exact for ended jobs (forgotten when the row changes, through the store's row
/// observer). An open job's answer carries its queue wait or run time up to the moment of the answer,
/// so it is kept for at most `openJobLifetime` (a second): those durations may be that much behind.
/// Visibility is checked on every answer, cached or not: another group's job is a 404 as ever.
struct EncodedJobMiddleware: ServerMiddleware {
    struct Entry: Sendable {
        let body: ArraySlice<UInt8>
        let headers: HTTPFields
        let researchGroup: String
        let expires: Date?
    }

    /// What the handler tells the middleware about the job it answered with (the handler's result is
    /// an encoded body, which this would otherwise have to decode).
    final class Outcome: Sendable {
        private let value = Mutex<(group: String, ended: Bool)?>(nil)
        func set(group: String, ended: Bool) { value.withLock { $0 = (group, ended) } }
        var recorded: (group: String, ended: Bool)? { value.withLock { $0 } }
        @TaskLocal static var current: Outcome?
    }

    static let openJobLifetime: TimeInterval = 1
    let cache: ReadThroughCache<Entry>

    init(store: JobStore, capacity: Int = 20_000) {
        let cache = ReadThroughCache<Entry>(capacity: capacity)
        store.observeJobRows { cache.invalidate($0) }
        self.cache = cache
    }

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        guard operationID == "getJob", let principal = RequestPrincipal.current, let id = Self.jobID(in: request.path) else {
            return try await next(request, body, metadata)
        }
        let now = Date()
        let (kept, epoch) = cache.lookup(id)
        if let kept {
            if let expires = kept.expires, expires <= now {
                cache.forget(id)
            } else if JobService.may(principal, seeGroup: kept.researchGroup) {
                return (HTTPResponse(status: .ok, headerFields: kept.headers), HTTPBody(kept.body))
            }
        }
        let outcome = Outcome()
        let (response, responseBody) = try await Outcome.$current.withValue(outcome) { try await next(request, body, metadata) }
        guard response.status == .ok, let responseBody, let job = outcome.recorded else { return (response, responseBody) }
        let bytes = try await ArraySlice(collecting: responseBody, upTo: 16 << 20)
        cache.keep(Entry(body: bytes, headers: response.headerFields, researchGroup: job.group,
                         expires: job.ended ? nil : now.addingTimeInterval(Self.openJobLifetime)), for: id, ifUnchangedSince: epoch)
        return (response, HTTPBody(bytes))
    }

    /// The job id of `/v1/jobs/{id}` (a query string left out).
    static func jobID(in path: String?) -> UUID? {
        guard var path, path.hasPrefix("/v1/jobs/") else { return nil }
        if let query = path.firstIndex(of: "?") { path = String(path[..<query]) }
        let id = path.dropFirst("/v1/jobs/".count)
        guard id.count == 36, !id.contains("/") else { return nil }
        return UUID(uuidString: String(id))
    }
}
