import Foundation
import HPCBridgeAPI
@testable import HPCBridgeServer
import HTTPTypes
@_spi(Generated) import OpenAPIRuntime
import Testing
@testable import HPCBridge

/// A submission's answer is written by `JobJSON` from the stored job; it must be what the generated code
/// writes for the job's representation, byte for byte where the stored parameters are in JSONEncoder's
/// form, and the same JSON value where they are not.
@Suite("HTTP: a job written by hand as the runtime writes it")
struct JobJSONTests {
    let transcoder = FormatStyleDateTranscoder()

    func runtimeBytes(_ value: Components.Schemas.Job) async throws -> [UInt8] {
        let converter = Converter(configuration: Configuration(dateTranscoder: transcoder, jsonEncodingOptions: EncodedJobs.runtimeOptions))
        var headers = HTTPFields()
        let body = try converter.setResponseBodyAsJSON(value, headerFields: &headers, contentType: EncodedJobs.contentType)
        return try await [UInt8](collecting: body, upTo: 1 << 20)
    }

    /// A job in `state` with text that JSON escapes in every member that holds text. Parameters are stored
    /// as `JSONValue.jsonText` writes them (keys sorted).
    func job(_ state: JobState, parameters: String = #"{"ratio":0.25,"reference":"/refs/hg38.fa","sample":"NA\"12878\"","tags":["a","ü"],"threads":8}"#)
        -> (Job, [JobTransition]) {
        let created = Date(timeIntervalSinceReferenceDate: 817_000_000.123)
        let awkward = "q\"b\\s/n\nr\rt\tb\u{8}f\u{c}c\u{1}\u{1f}d\u{7f}é😀\u{2028}"
        var job = Job(id: UUID(), pipelineName: "gatk_variant_calling", pipelineVersion: "1.0.0", parametersJSON: parameters,
                      researchGroup: "cancer_genomics_lab", description: awkward, cluster: "dev", createdAt: created,
                      scriptDigest: String(repeating: "ab", count: 32), intentJSON: "")
        job.state = state
        var transitions = [JobTransition(jobID: job.id, fromState: nil, toState: .accepted, at: created, source: "api", reason: nil)]
        transitions[0].sequence = 1
        if state != .accepted {
            job.nativeJobID = "1234"
            job.submittedAt = created.addingTimeInterval(0.5)
            var queued = JobTransition(jobID: job.id, fromState: .accepted, toState: .queued, at: created.addingTimeInterval(0.5), source: "submitter",
                                       reason: "submitted as 1234 via " + awkward)
            queued.sequence = 2
            transitions.append(queued)
        }
        if state == .running || state.isTerminal {
            job.startedAt = created.addingTimeInterval(2.25)
        }
        if state.isTerminal {
            job.finishedAt = created.addingTimeInterval(60.75)
            job.exitCode = 3
            job.exitSignal = 9
            job.failureKind = "non_zero_exit"
            job.failureReason = awkward
            job.requeueCount = 2
            // A source and a failure kind the contract does not know are shown as the generated path shows them.
            transitions.append(JobTransition(jobID: job.id, fromState: .queued, toState: state, at: created.addingTimeInterval(60.75), source: "import", reason: nil))
        }
        return (job, transitions)
    }

    @Test("every state, every member set or not: the runtime's bytes")
    func sameBytes() async throws {
        for state in [JobState.accepted, .queued, .running, .completed, .failed, .cancelled] {
            let (job, transitions) = job(state)
            for seconds in [0.0, 0.25, 3600.5] {
                let now = job.createdAt.addingTimeInterval(seconds)
                let expected = try await runtimeBytes(try JobAPI.representation(of: job, transitions: transitions, now: now))
                let written = try JobJSON.bytes(of: job, transitions: transitions, now: now, dates: transcoder)
                #expect(String(decoding: written, as: UTF8.self) == String(decoding: expected, as: UTF8.self), "\(state) at +\(seconds) s")
            }
        }
        var unknownKind = job(.failed)
        unknownKind.0.failureKind = "no_such_kind"
        let expected = try await runtimeBytes(try JobAPI.representation(of: unknownKind.0, transitions: unknownKind.1, now: unknownKind.0.createdAt))
        let written = try JobJSON.bytes(of: unknownKind.0, transitions: unknownKind.1, now: unknownKind.0.createdAt, dates: transcoder)
        #expect(String(decoding: written, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test("parameters JSONEncoder would write otherwise: the same JSON value")
    func sameValue() async throws {
        // JSONValue's canonical text escapes DEL and U+2028, and writes 1e20 its own way.
        let parameters = JSONValue.object(["text": .string("del\u{7f} ls\u{2028} bs\u{8}"), "big": .number(1e20), "Zebra": 1, "apple": 2, "é": 3]).jsonText
        let (job, transitions) = job(.queued, parameters: parameters)
        let expected = try await runtimeBytes(try JobAPI.representation(of: job, transitions: transitions, now: job.createdAt))
        let written = try JobJSON.bytes(of: job, transitions: transitions, now: job.createdAt, dates: transcoder)
        #expect(try JSONValue.parse(Data(written)) == (try JSONValue.parse(Data(expected))))
    }

    @Test("strings are escaped as JSONEncoder escapes them, every ASCII character and beyond")
    func strings() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = EncodedJobs.outputFormatting
        let text = String((0...0x7F).map { Character(Unicode.Scalar(UInt8($0))) }) + "é中😀\u{2028}\u{2029}\u{FEFF}"
        var written: [UInt8] = []
        JSONText.appendString(text, to: &written)
        #expect(written == [UInt8](try encoder.encode(text)))
    }
}
