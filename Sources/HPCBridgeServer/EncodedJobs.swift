import Foundation
import HPCBridge
import HPCBridgeAPI
import OpenAPIRuntime

/// Jobs as JSON bytes, kept per job while its row is unchanged: `GET /v1/jobs/{id}` answers from them
/// (`EncodedJobMiddleware`) and a list page is assembled from them, so a job that is read again and
/// again is not encoded again and again. Encoding was a quarter of a job read's CPU, and nearly all of a
/// page of 50's (BENCHMARKS.md).
///
/// Kept bytes are exact for ended jobs (forgotten when the row changes, through the store's row
/// observer). An open job's bytes carry its queue wait or run time up to the moment they were encoded,
/// so they are kept for at most `openJobLifetime` (a second): those durations may be that much behind.
final class EncodedJobs: Sendable {
    struct Entry: Sendable {
        let body: ArraySlice<UInt8>
        let researchGroup: String
        let expires: Date?
    }

    static let openJobLifetime: TimeInterval = 1
    /// What the generated server code sends with a JSON body.
    static let contentType = "application/json; charset=utf-8"

    private let cache: ReadThroughCache<Entry>
    let dateTranscoder: any DateTranscoder

    init(store: JobStore, dateTranscoder: any DateTranscoder, capacity: Int = 20_000) {
        let cache = ReadThroughCache<Entry>(capacity: capacity)
        store.observeJobRows { cache.invalidate($0) }
        self.cache = cache
        self.dateTranscoder = dateTranscoder
    }

    /// The kept bytes of a job unless they expired (then they are forgotten), and the epoch to keep
    /// bytes encoded now with.
    func fresh(_ id: UUID, now: Date) -> (entry: Entry?, epoch: UInt64) {
        let (kept, epoch) = cache.lookup(id)
        if let kept, let expires = kept.expires, expires <= now {
            cache.forget(id)
            return (nil, epoch)
        }
        return (kept, epoch)
    }

    /// Keeps a job's bytes, encoded at `now`, unless its row changed since `epoch`.
    func keep(_ body: ArraySlice<UInt8>, group: String, ended: Bool, now: Date, for id: UUID, ifUnchangedSince epoch: UInt64) {
        cache.keep(Entry(body: body, researchGroup: group, expires: ended ? nil : now.addingTimeInterval(Self.openJobLifetime)),
                   for: id, ifUnchangedSince: epoch)
    }

    /// An encoder that writes what the generated server code writes for the same value, byte for byte:
    /// the options `buildRouter` gives the runtime, and dates through the same transcoder. (A page is
    /// assembled from pieces this encodes and pieces the runtime encoded; `EncodedJobsTests` holds the
    /// two to the same bytes.)
    func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = Self.outputFormatting
        let transcoder = dateTranscoder
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try transcoder.encode(date))
        }
        return encoder
    }

    /// The runtime's options (`Configuration.jsonEncodingOptions` in `buildRouter`) in Foundation's terms.
    static let outputFormatting: JSONEncoder.OutputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    static let runtimeOptions: JSONEncodingOptions = [.sortedKeys, .withoutEscapingSlashes]

    /// A page as the generated code would encode `JobPage(jobs:nextCursor:)` with sorted keys: the jobs'
    /// kept bytes joined, not decoded and encoded again.
    static func page(of jobs: [ArraySlice<UInt8>], nextCursor: String?) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(jobs.reduce(64) { $0 + $1.count + 1 } + (nextCursor?.utf8.count ?? 0))
        body.append(contentsOf: #"{"jobs":["#.utf8)
        for (index, job) in jobs.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: job)
        }
        body.append(UInt8(ascii: "]"))
        if let nextCursor {
            body.append(contentsOf: #","next_cursor":"#.utf8)
            body.append(contentsOf: JSONValue.quote(nextCursor).utf8)
        }
        body.append(UInt8(ascii: "}"))
        return body
    }
}
