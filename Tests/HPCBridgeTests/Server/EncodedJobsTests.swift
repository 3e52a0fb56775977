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

    /// The same job, still running (no end, no exit), with a parameter named like the job's own members.
    func openJob(_ index: Int) throws -> Components.Schemas.Job {
        var job = try job(index)
        job.state = .running
        job.finishedAt = nil
        job.exitCode = nil
        job.failureKind = nil
        job.failureReason = nil
        job.parameters = try JSONDecoder().decode(OpenAPIObjectContainer.self,
                                                  from: Data(#"{"requeue_count":"x","script_digest":"\"requeue_count\":","run_seconds":1}"#.utf8))
        job.transitions.removeLast()
        return job
    }

    @Test("a job from EncodedJobs.encoder() is byte for byte the runtime's encoding")
    func sameBytesAsTheRuntime() async throws {
        let encoded = EncodedJobs(store: store, dateTranscoder: transcoder)
        for index in 0..<3 {
            let value = try job(index)
            #expect([UInt8](try encoded.encoder().encode(value)) == (try await runtimeBytes(value)))
        }
    }

    @Test("a kept entry, its durations written in at the moment of the answer, is byte for byte the runtime's encoding of the job at that moment")
    func durationsWrittenIn() async throws {
        let encoded = EncodedJobs(store: store, dateTranscoder: transcoder)
        for value in [try job(0), try openJob(1), try openJob(2)] {
            let entry = try encoded.entry(for: value, encoder: encoded.encoder())
            for seconds in [0.0, 0.25, 3, 3600.5, 1e7] {
                let now = value.createdAt.addingTimeInterval(seconds)
                #expect(entry.bytes(now: now) == (try await runtimeBytes(JobAPI.withDurations(value, now: now))), "\(value.state) at +\(seconds) s")
            }
        }
        var queued = try openJob(3)
        queued.state = .queued
        queued.startedAt = nil
        let now = queued.createdAt.addingTimeInterval(42.5)
        #expect(try encoded.entry(for: queued, encoder: encoded.encoder()).bytes(now: now) == (try await runtimeBytes(JobAPI.withDurations(queued, now: now))),
                "a queued job has a queue wait and no run time")
    }

    @Test("numbers are written as Foundation's JSONEncoder writes them")
    func numbers() throws {
        for value in [0, 3, 3.5, 0.1, 1e-5, 0.00012, 123456.789, 1e16, 86400.123456789, 2.5e-7, 1.0 / 3.0, 599.999, 1e300, Double.leastNonzeroMagnitude] {
            let expected = String(decoding: try JSONEncoder().encode([value]), as: UTF8.self).dropFirst().dropLast()
            #expect(EncodedJobs.jsonNumber(value) == String(expected))
        }
    }

    @Test("a page joined from kept bytes is byte for byte the runtime's encoding of the page, with and without a next cursor")
    func pageAsTheRuntimeWritesIt() async throws {
        let encoded = EncodedJobs(store: store, dateTranscoder: transcoder)
        let jobs = try (0..<3).map(job)
        let pieces = try jobs.map { [UInt8](try encoded.encoder().encode($0)) }
        let cursor = JobCursor(createdAt: jobs[2].createdAt, id: UUID()).token
        #expect(EncodedJobs.page(of: pieces, nextCursor: cursor) == (try await runtimeBytes(Components.Schemas.JobPage(jobs: jobs, nextCursor: cursor))))
        #expect(EncodedJobs.page(of: pieces, nextCursor: nil) == (try await runtimeBytes(Components.Schemas.JobPage(jobs: jobs, nextCursor: nil))))
        #expect(EncodedJobs.page(of: [], nextCursor: nil) == (try await runtimeBytes(Components.Schemas.JobPage(jobs: [], nextCursor: nil))))
    }

    @Test("an entry is kept until its row changes; one made before a change is not kept")
    func invalidation() throws {
        let encoded = EncodedJobs(store: store, dateTranscoder: transcoder)
        let entry = try encoded.entry(for: try openJob(0), encoder: encoded.encoder())
        let id = UUID()
        encoded.keep(entry, for: id, ifUnchangedSince: encoded.lookup(id).epoch)
        #expect(encoded.lookup(id).entry?.body == entry.body)
        let stale = encoded.lookup(UUID()).epoch
        store.notifyRowsChanged([id])
        #expect(encoded.lookup(id).entry == nil, "a changed row's entry is forgotten")
        encoded.keep(entry, for: id, ifUnchangedSince: stale)
        #expect(encoded.lookup(id).entry == nil, "an entry made before a change is not kept")
    }
}
