import Foundation
import Testing
@testable import HPCBridge

/// The event stream behind `GET /v1/events`: live transitions per caller, resumption from the history
/// with `Last-Event-ID`, heartbeats, and the end of every stream on shutdown.
@Suite("Event stream")
struct EventStreamTests {
    let fake = FakeScheduler()

    /// Reads frames until `count` transition frames arrived (or the timeout passed); returns the text.
    static func read(_ stream: AsyncStream<String>, transitions count: Int, timeout: Duration = .seconds(5)) async -> [String] {
        await withTaskGroup(of: [String].self) { group in
            group.addTask {
                var frames: [String] = []
                for await frame in stream {
                    frames.append(frame)
                    if frames.filter({ $0.contains("event: transition") }).count >= count { break }
                }
                return frames
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return []
            }
            var result: [String] = []
            for await frames in group {
                if !frames.isEmpty || result.isEmpty { result = frames }
                group.cancelAll()
                break
            }
            return result
        }
    }

    static func data(_ frame: String) throws -> JSONValue {
        let line = try #require(frame.split(separator: "\n").first { $0.hasPrefix("data: ") })
        return try JSONValue.parse(String(line.dropFirst(6)))
    }

    @Test("a group's stream carries its own transitions live, in order, and not another group's")
    func live() async throws {
        let service = try TestService(scheduler: fake)
        let jobs = service.assembly.service
        let mine = try await jobs.eventStream(for: .group("cancer_genomics_lab"), lastEventID: nil, jobID: nil)
        let theirs = try await jobs.eventStream(for: .group("systems_biology_lab"), lastEventID: nil, jobID: nil)
        let request = try TestSite.example("gatk_variant_calling")
        for _ in 0..<2 { _ = try await jobs.submit(request, by: .group("cancer_genomics_lab"), idempotencyKey: nil) }
        let frames = await Self.read(mine, transitions: 4)
        #expect(frames.first == "retry: 3000\n\n")
        let transitions = try frames.filter { $0.contains("event: transition") }.map(Self.data)
        #expect(transitions.compactMap { $0["to_state"]?.stringValue } == ["accepted", "queued", "accepted", "queued"])
        let sequences = transitions.compactMap { $0["sequence"]?.numberValue }
        #expect(sequences == sequences.sorted() && Set(sequences).count == 4)
        #expect(frames.filter { $0.contains("event: transition") }.allSatisfy { $0.hasPrefix("id: ") })
        let other = await Self.read(theirs, transitions: 1, timeout: .milliseconds(300))
        #expect(other.allSatisfy { !$0.contains("event: transition") }, "another group's jobs never reach this stream")
    }

    @Test("Last-Event-ID replays exactly what came after it from the history, then continues live")
    func resume() async throws {
        let service = try TestService(scheduler: fake)
        let jobs = service.assembly.service
        let request = try TestSite.example("gatk_variant_calling")
        for _ in 0..<3 { _ = try await jobs.submit(request, by: .group("cancer_genomics_lab"), idempotencyKey: nil) }
        // Six transitions so far (accepted, queued per job); a client that saw the second resumes after it.
        let resumed = try await jobs.eventStream(for: .group("cancer_genomics_lab"), lastEventID: "2", jobID: nil)
        let replayed = try await Self.read(resumed, transitions: 4).filter { $0.contains("event: transition") }.map(Self.data)
        #expect(replayed.compactMap { $0["sequence"]?.numberValue } == [3, 4, 5, 6])
        _ = try await jobs.submit(request, by: .group("cancer_genomics_lab"), idempotencyKey: nil)
        let next = try await jobs.eventStream(for: .admin, lastEventID: "6", jobID: nil)
        let live = try await Self.read(next, transitions: 2).filter { $0.contains("event: transition") }.map(Self.data)
        #expect(live.compactMap { $0["sequence"]?.numberValue } == [7, 8], "no gap and no repeat between history and live")
        await #expect(throws: JobService.Refusal.self) { try await jobs.eventStream(for: .admin, lastEventID: "seven", jobID: nil) }
    }

    @Test("one job's stream; another group's job id is not found")
    func oneJob() async throws {
        let service = try TestService(scheduler: fake)
        let jobs = service.assembly.service
        let request = try TestSite.example("gatk_variant_calling")
        let (first, _, _) = try await jobs.submit(request, by: .group("cancer_genomics_lab"), idempotencyKey: nil)
        _ = try await jobs.submit(request, by: .group("cancer_genomics_lab"), idempotencyKey: nil)
        let stream = try await jobs.eventStream(for: .group("cancer_genomics_lab"), lastEventID: "0", jobID: first.id)
        let frames = try await Self.read(stream, transitions: 2).filter { $0.contains("event: transition") }.map(Self.data)
        #expect(frames.allSatisfy { $0["job_id"]?.stringValue == first.id.uuidString.lowercased() })
        #expect(frames.count == 2)
        await #expect(throws: JobService.Refusal.self) { try await jobs.eventStream(for: .group("systems_biology_lab"), lastEventID: nil, jobID: first.id) }
    }

    @Test("heartbeats keep an idle stream alive, and closing the hub ends every stream")
    func heartbeatAndShutdown() async throws {
        let service = try TestService(scheduler: fake)
        let stream = try await service.assembly.service.eventStream(for: .admin, lastEventID: nil, jobID: nil, heartbeat: .milliseconds(50))
        let heartbeats = AnswerCounter()
        let reader = Task {
            var frames: [String] = []
            for await frame in stream {
                frames.append(frame)
                if frame == ServerSentEvents.heartbeat { await heartbeats.add() }
            }
            return frames
        }
        // Wait for two heartbeats however slow the machine is, then shut the hub. The wait counts polls,
        // not seconds: at the start of the full suite every test is queued on the two cooperative threads
        // and neither the heartbeats nor this loop run for 20 s or more (seen in the suite's runs).
        var polls = 0
        while await heartbeats.count < 2, polls < 1000 {
            try await Task.sleep(for: .milliseconds(20))
            polls += 1
        }
        #expect(service.assembly.events.subscriberCount == 1)
        service.assembly.events.close()
        let frames = await reader.value
        #expect(frames.filter { $0 == ServerSentEvents.heartbeat }.count >= 2)
        #expect(service.assembly.events.subscriberCount == 0)
        let after = try await service.assembly.service.eventStream(for: .admin, lastEventID: nil, jobID: nil)
        var count = 0
        for await _ in after { count += 1 }
        #expect(count <= 1, "after shutdown a new stream ends at once")
    }
}

@Suite("Following a job's logs")
struct LogStreamTests {
    @Test("the tail, then new lines as they are written, then end once the job has ended")
    func follow() async throws {
        let fake = FakeScheduler()
        let service = try TestService(scheduler: fake)
        let jobs = service.assembly.service
        let (job, _, _) = try await jobs.submit(try TestSite.example("gatk_variant_calling"), by: .group("cancer_genomics_lab"), idempotencyKey: nil)
        let directory = try JobSubmitter.spec(of: job).workingDirectory
        try TestPaths.write("one\ntwo\nthree\n", to: directory + "/stdout.log")
        let stream = try await jobs.logStream(job.id, lines: 2, for: .group("cancer_genomics_lab"), poll: .milliseconds(20))
        var iterator = stream.makeAsyncIterator()
        var frames: [String] = []
        // The tail first (read on the files pool, so it may take a moment under load), then the writes.
        while frames.filter({ $0.hasPrefix("event: stdout") }).count < 2, let frame = await iterator.next() { frames.append(frame) }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/stdout.log"))
        try out.seekToEnd()
        try out.write(contentsOf: Data("four\nfive \"quoted\"\npartial".utf8))
        try out.close()
        try TestPaths.write("warning: x\n", to: directory + "/stderr.log")
        let store = service.store, id = job.id
        let end = Task {
            try await Task.sleep(for: .milliseconds(150))
            _ = try store.update(id, source: "test") { $0.state = .completed }
        }
        while let frame = await iterator.next() { frames.append(frame) }
        try await end.value
        let events = frames.filter { $0.hasPrefix("event: ") }
        let stdout = try events.filter { $0.hasPrefix("event: stdout") }.map { try EventStreamTests.data($0).stringValue ?? "" }
        #expect(stdout == ["two", "three", "four", "five \"quoted\"", "partial"])
        let stderr = try events.filter { $0.hasPrefix("event: stderr") }.map { try EventStreamTests.data($0).stringValue ?? "" }
        #expect(stderr == ["warning: x"])
        #expect(events.last?.hasPrefix("event: end") == true)
        await #expect(throws: JobService.Refusal.self) { try await jobs.logStream(job.id, lines: 2, for: .group("systems_biology_lab")) }
    }

    @Test("a log stream ends when the service shuts down, although its job still runs")
    func shutdown() async throws {
        let service = try TestService(scheduler: FakeScheduler())
        let jobs = service.assembly.service
        let (job, _, _) = try await jobs.submit(try TestSite.example("gatk_variant_calling"), by: .admin, idempotencyKey: nil)
        let stream = try await jobs.logStream(job.id, lines: 10, for: .admin, poll: .milliseconds(20))
        let reader = Task { var n = 0; for await _ in stream { n += 1 }; return n }
        try await Task.sleep(for: .milliseconds(100))
        service.assembly.events.close()
        _ = await reader.value
        #expect(try service.store.job(job.id)?.state == .queued)
    }
}
