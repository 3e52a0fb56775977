import Foundation
import HPCBridge
import HPCBridgeAPI
import OpenAPIRuntime

/// Jobs as JSON bytes, kept per job while its row is unchanged: `GET /v1/jobs/{id}` answers from them
/// (`EncodedJobMiddleware`) and a list page is assembled from them, so a job that is read again and
/// again is not encoded again and again. Encoding was a quarter of a job read's CPU, and nearly all of a
/// page of 50's (BENCHMARKS.md).
///
/// Kept bytes are exact: they are forgotten when the job's row changes (the store's row observer), and
/// the two members that change with the clock, `queue_wait_seconds` and `run_seconds`, are not in them
/// but written into each answer, worked out at that moment (`Entry.bytes(now:)`). (Kept whole, an open
/// job's answer had to expire after a second, and at 1,000 open jobs read in turn a tenth of the reads
/// encoded their job again.)
final class EncodedJobs: Sendable {
    /// A job's JSON without its two durations, where they go, and what they are worked out from.
    struct Entry: Sendable {
        let body: [UInt8]
        /// Where `"queue_wait_seconds":…,` goes: before the top-level `"requeue_count":`, the next member in
        /// sorted order (required, so always there).
        let queueWaitAt: Int
        /// Where `"run_seconds":…,` goes: before the top-level `"script_digest":` (required too).
        let runAt: Int
        let researchGroup: String
        let submittedAt: Date?
        let startedAt: Date?
        let finishedAt: Date?
        let ended: Bool

        /// The job as the runtime would encode it with its durations worked out at `now`.
        func bytes(now: Date) -> [UInt8] {
            let (queueWait, run) = JobAPI.durations(submittedAt: submittedAt, startedAt: startedAt, finishedAt: finishedAt, ended: ended, now: now)
            var out: [UInt8] = []
            out.reserveCapacity(body.count + 64)
            out.append(contentsOf: body[..<queueWaitAt])
            if let queueWait { out.append(contentsOf: #""queue_wait_seconds":\#(EncodedJobs.jsonNumber(queueWait)),"#.utf8) }
            out.append(contentsOf: body[queueWaitAt..<runAt])
            if let run { out.append(contentsOf: #""run_seconds":\#(EncodedJobs.jsonNumber(run)),"#.utf8) }
            out.append(contentsOf: body[runAt...])
            return out
        }
    }

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

    /// The kept entry of a job, and the epoch to keep an entry made now with.
    func lookup(_ id: UUID) -> (entry: Entry?, epoch: UInt64) {
        let (entry, epoch) = cache.lookup(id)
        return (entry, epoch)
    }

    /// Keeps a job's entry unless its row changed since `epoch`.
    func keep(_ entry: Entry, for id: UUID, ifUnchangedSince epoch: UInt64) {
        cache.keep(entry, for: id, ifUnchangedSince: epoch)
    }

    /// A job's entry: `job` encoded without its durations, and where they go.
    func entry(for job: Components.Schemas.Job, encoder: JSONEncoder) throws -> Entry {
        var timeless = job
        timeless.queueWaitSeconds = nil
        timeless.runSeconds = nil
        let body = [UInt8](try encoder.encode(timeless))
        // The last occurrence is the job's own member: `parameters` (before them in sorted order) may hold
        // members of any name, and inside a JSON string a quote is always escaped, so `"name":` cannot
        // appear there. The transitions after them have no such members.
        guard let queueWaitAt = Self.lastIndex(of: Array(#""requeue_count":"#.utf8), in: body),
              let runAt = Self.lastIndex(of: Array(#""script_digest":"#.utf8), in: body), queueWaitAt < runAt else {
            throw EncodingError.invalidValue(job.id, .init(codingPath: [], debugDescription: "the encoded job lacks requeue_count or script_digest"))
        }
        return Entry(body: body, queueWaitAt: queueWaitAt, runAt: runAt, researchGroup: job.researchGroup, submittedAt: job.submittedAt,
                     startedAt: job.startedAt, finishedAt: job.finishedAt, ended: JobAPI.hasEnded(job))
    }

    static func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var start = haystack.count - needle.count
        while start >= 0 {
            if haystack[start] == needle[0], haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
            start -= 1
        }
        return nil
    }

    /// A number as Foundation's JSONEncoder writes it: Swift's shortest description, without a trailing
    /// `.0` (`EncodedJobsTests` compares the two).
    static func jsonNumber(_ value: Double) -> String {
        let text = value.description
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
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
    static func page(of jobs: [[UInt8]], nextCursor: String?) -> [UInt8] {
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
