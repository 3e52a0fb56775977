import CSlurmShim
import Foundation
import Testing
@testable import HPCBridge

/// The library path converts only the records that changed since the previous answer; every answer
/// must still be exactly what converting every record gives.
@Suite("libslurm records: converted again only when they changed")
struct RecordConversionsTests {
    static func record(job: UInt32, state: UInt32 = 0, reason: String = "Priority", start: Int64 = 0, list: UnsafePointer<CChar>? = nil) -> hb_job_record {
        var r = hb_job_record()
        r.job_id = job
        r.array_task_id = 0xfffffffe
        r.job_state = state
        r.submit_time = 1_790_000_000
        r.start_time = start
        r.array_task_str = list
        if list != nil {
            r.array_job_id = job
        }
        withUnsafeMutableBytes(of: &r.reason) { buffer in
            for (i, byte) in reason.utf8.enumerated() { buffer[i] = byte }
        }
        withUnsafeMutableBytes(of: &r.comment) { buffer in
            for (i, byte) in "hpcbridge:\(UUID().uuidString.lowercased())".utf8.enumerated() { buffer[i] = byte }
        }
        return r
    }

    @Test("3,000 records, then some changed: each answer equals a conversion of every record; unchanged records are reused")
    func reuse() throws {
        try "2-5%2".withCString { list in
            var records = (0..<3000).map { Self.record(job: UInt32(1000 + $0)) }
            records[2999] = Self.record(job: 9999, list: list)
            let conversions = RecordConversions()
            try records.withUnsafeMutableBufferPointer { buffer in
                let first = try SlurmLibraryScheduler.states(of: buffer.baseAddress, count: buffer.count, conversions: conversions)
                #expect(first == (try SlurmLibraryScheduler.states(of: buffer.baseAddress, count: buffer.count)))
                #expect(first.count == 3000)
            }
            let previous = try #require(conversions.previous)
            try records.withUnsafeMutableBufferPointer { buffer in
                let (changed, positions, gone) = previous.changes(in: try #require(buffer.baseAddress), count: buffer.count)
                #expect(changed == [2999], "only the record pointing at a task list is converted again")
                #expect(positions == Array(0..<3000) && gone.isEmpty)
            }

            records[10] = Self.record(job: 1010, state: 1, reason: "None", start: 1_790_000_100)
            records[11].end_time = 1_790_000_200
            records[12] = Self.record(job: 1012, reason: "Resources")
            records[13].restart_count = 1
            records.append(Self.record(job: 5000))
            let removed = records.remove(at: 20)
            records.swapAt(30, 40)
            try records.withUnsafeMutableBufferPointer { buffer in
                let (changed, positions, gone) = previous.changes(in: try #require(buffer.baseAddress), count: buffer.count)
                #expect(changed == [10, 11, 12, 13, 2998, 2999], "changed records, the task list and the new one")
                #expect(positions[29] == 30 && positions[30] == 41 && positions[40] == 31, "a record that moved is found by its job number")
                #expect(gone == [20])
            }
            try records.withUnsafeMutableBufferPointer { buffer in
                let second = try SlurmLibraryScheduler.states(of: buffer.baseAddress, count: buffer.count, conversions: conversions)
                #expect(second == (try SlurmLibraryScheduler.states(of: buffer.baseAddress, count: buffer.count)))
                #expect(second["1010"]?.status == .running)
                #expect(second["1012"]?.reason == "Resources")
                #expect(second["5000"] != nil && second.count == 3000)
                #expect(second[NativeJobID("\(removed.job_id)")] == nil, "a job the controller no longer lists is gone")
            }
        }
    }

    @Test("an empty answer forgets what was kept")
    func empty() throws {
        let conversions = RecordConversions()
        var records = [Self.record(job: 1)]
        _ = try records.withUnsafeMutableBufferPointer { try SlurmLibraryScheduler.states(of: $0.baseAddress, count: 1, conversions: conversions) }
        #expect(conversions.previous != nil)
        #expect(try SlurmLibraryScheduler.states(of: nil, count: 0, conversions: conversions).isEmpty)
        #expect(conversions.previous == nil)
    }
}
