import Foundation
import Logging
import Testing
@testable import HPCBridge

@Suite("Structured logs")
struct StructuredLogTests {
    static let time = Date(timeIntervalSince1970: 1_795_000_000.25)

    @Test("logfmt quotes and escapes what needs it, and every event is one line")
    func logfmt() {
        let line = StructuredLogHandler.line(format: .logfmt, time: Self.time, level: .info, message: "job accepted",
                                             fields: ["job_id": "0b7c52a4", "reason": "a \"quoted\"\nsecond line", "label": "hpcbridge", "odd key": "x=y"])
        #expect(line == #"time=2026-11-18T11:06:40.250Z level=info msg="job accepted" job_id=0b7c52a4 label=hpcbridge odd_key="x=y" reason="a \"quoted\"\nsecond line""# + "\n")
        #expect(line.filter { $0 == "\n" }.count == 1)
    }

    @Test("JSON is one object per line with time, level and msg first-class")
    func json() throws {
        let line = StructuredLogHandler.line(format: .json, time: Self.time, level: .warning, message: "submission deferred",
                                             fields: ["job_id": "0b7c52a4", "error": "controller down\nretrying"])
        #expect(line.hasSuffix("\n") && line.dropLast().contains("\n") == false)
        let object = try JSONValue.parse(String(line.dropLast()))
        #expect(object["level"] == "warning")
        #expect(object["msg"] == "submission deferred")
        #expect(object["error"] == "controller down\nretrying")
        #expect(object["time"] == "2026-11-18T11:06:40.250Z")
    }

    @Test("text lines escape newlines, and a line without one is left as it is")
    func text() {
        let broken = StructuredLogHandler.line(format: .text, time: Self.time, level: .error, message: "failed\nbadly",
                                               fields: ["label": "hpcbridge", "error": "a\nb"])
        #expect(broken == "2026-11-18T11:06:40.250Z error hpcbridge: failed\\nbadly error=a\\nb\n")
        let plain = StructuredLogHandler.line(format: .text, time: Self.time, level: .info, message: "GET /v1/jobs", fields: ["label": "hpcbridge.http"])
        #expect(plain == "2026-11-18T11:06:40.250Z info hpcbridge.http: GET /v1/jobs\n")
    }

    @Test("the handler merges logger and event metadata and writes whole lines")
    func handler() {
        let sink = CapturedLogs()
        var logger = Logger(label: "hpcbridge.test") { label in
            StructuredLogHandler(label: label, format: .logfmt, level: .info) { sink.append($0) }
        }
        logger[metadataKey: "hb.request.id"] = "abc123"
        logger.debug("not written at info")
        logger.info("job accepted", metadata: ["job_id": "0b7c52a4"])
        #expect(sink.all.count == 1)
        let line = sink.all.first ?? ""
        #expect(line.contains("hb.request.id=abc123") && line.contains("job_id=0b7c52a4") && line.contains("label=hpcbridge.test"))
    }
}
