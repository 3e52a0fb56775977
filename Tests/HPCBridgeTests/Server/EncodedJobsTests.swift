import Foundation
import HPCBridgeAPI
@testable import HPCBridgeServer
import HTTPTypes
@_spi(Generated) import OpenAPIRuntime
import Testing
@testable import HPCBridge

/// A page of jobs is written from bytes kept per job, some encoded by the generated code (a job's GET)
/// and some by `EncodedJobs.encoder()` (a page): both must be the bytes the runtime writes.
@Suite("HTTP: jobs kept as JSON bytes")
struct EncodedJobsTests {
    let transcoder = FormatStyleDateTranscoder()
    let store: JobStore

    init() throws {
        store = try JobStore(path: try TestPaths.scratchDirectory("encoded-jobs") + "/store.sqlite")
    }

    /// What the generated server code writes for `value`: the runtime's converter, configured as `buildRouter` does.
    func runtimeBytes<T: Encodable & Sendable>(_ value: T) async throws -> [UInt8] {
        let converter = Converter(configuration: Configuration(dateTranscoder: transcoder, jsonEncodingOptions: EncodedJobs.runtimeOptions))
        var headers = HTTPFields()
        let body = try converter.setResponseBodyAsJSON(value, headerFields: &headers, contentType: EncodedJobs.contentType)
        return try await [UInt8](collecting: body, upTo: 1 << 20)
    }

    /// A job with every member set, text that JSON escapes (quotes, a slash, a control character,
    /// non-ASCII) and times with fractions of a second.
    func job(_ index: Int) throws -> Components.Schemas.Job {
        let created = Date(timeIntervalSinceReferenceDate: 817_000_000.123 + Double(index))
        var job = Job(id: UUID(), pipelineName: "gatk_variant_calling", pipelineVersion: "1.0.0",
                      parametersJSON: #"{"reference":"/refs/hg38.fa","sample":"NA\"12878\"","threads":8,"ratio":0.25,"tags":["a","ü"]}"#,
                      researchGroup: "cancer_genomics_lab", description: "run \(index): \"quoted\"\tand/with é", cluster: "dev",
                      createdAt: created, scriptDigest: String(repeating: "ab", count: 32), intentJSON: "")
        job.state = .failed
        job.nativeJobID = "\(1000 + index)"
        job.submittedAt = created.addingTimeInterval(0.5)
        job.startedAt = created.addingTimeInterval(2.25)
        job.finishedAt = created.addingTimeInterval(60.75)
        job.exitCode = 3
        job.failureKind = "non_zero_exit"
        job.failureReason = "the pipeline exited with status 3; see the job's stderr log"
        let transitions = [
            JobTransition(jobID: job.id, fromState: nil, toState: .accepted, at: created, source: "api", reason: nil),
            JobTransition(jobID: job.id, fromState: .accepted, toState: .queued, at: created.addingTimeInterval(0.5), source: "api", reason: "submitted as \(1000 + index)"),
            JobTransition(jobID: job.id, fromState: .queued, toState: .failed, at: created.addingTimeInterval(60.75), source: "reconciler", reason: "FAILED (NonZeroExitCode)"),
        ]
        return try JobAPI.representation(of: job, transitions: transitions)
    }

    @Test("a job from EncodedJobs.encoder() is byte for byte the runtime's encoding")
    func sameBytesAsTheRuntime() async throws {
        let encoded = EncodedJobs(store: store, dateTranscoder: transcoder)
        for index in 0..<3 {
            let value = try job(index)
            #expect([UInt8](try encoded.encoder().encode(value)) == (try await runtimeBytes(value)))
        }
    }

    @Test("a page joined from kept bytes is byte for byte the runtime's encoding of the page, with and without a next cursor")
    func pageAsTheRuntimeWritesIt() async throws {
        let encoded = EncodedJobs(store: store, dateTranscoder: transcoder)
        let jobs = try (0..<3).map(job)
        let pieces = try jobs.map { ArraySlice(try encoded.encoder().encode($0)) }
        let cursor = JobCursor(createdAt: jobs[2].createdAt, id: UUID()).token
        #expect(EncodedJobs.page(of: pieces, nextCursor: cursor) == (try await runtimeBytes(Components.Schemas.JobPage(jobs: jobs, nextCursor: cursor))))
        #expect(EncodedJobs.page(of: pieces, nextCursor: nil) == (try await runtimeBytes(Components.Schemas.JobPage(jobs: jobs, nextCursor: nil))))
        #expect(EncodedJobs.page(of: [], nextCursor: nil) == (try await runtimeBytes(Components.Schemas.JobPage(jobs: [], nextCursor: nil))))
    }

    @Test("an open job's bytes expire after a second; an ended job's are kept until its row changes")
    func expiry() throws {
        let encoded = EncodedJobs(store: store, dateTranscoder: transcoder)
        let now = Date()
        let open = UUID(), ended = UUID()
        encoded.keep([1], group: "g", ended: false, now: now, for: open, ifUnchangedSince: encoded.fresh(open, now: now).epoch)
        encoded.keep([2], group: "g", ended: true, now: now, for: ended, ifUnchangedSince: encoded.fresh(ended, now: now).epoch)
        #expect(encoded.fresh(open, now: now.addingTimeInterval(0.9)).entry?.body == [1])
        #expect(encoded.fresh(open, now: now.addingTimeInterval(EncodedJobs.openJobLifetime)).entry == nil)
        #expect(encoded.fresh(ended, now: now.addingTimeInterval(3600)).entry?.body == [2])
        let stale = encoded.fresh(UUID(), now: now).epoch
        store.notifyRowsChanged([ended])
        #expect(encoded.fresh(ended, now: now).entry == nil, "a changed row's bytes are forgotten")
        encoded.keep([3], group: "g", ended: true, now: now, for: ended, ifUnchangedSince: stale)
        #expect(encoded.fresh(ended, now: now).entry == nil, "bytes encoded before a change are not kept")
    }
}
