import Foundation
import Testing
@testable import HPCBridge

@Suite("Job arrays: index lists, the 4 KiB limit, the stored intent")
struct JobArrayTests {
    @Test("Slurm's index list is written by one function", arguments: [
        ([0...15], 4, "0-15%4"),
        ([0...0, 6...6, 16...32], nil, "0,6,16-32"),
        ([16...32, 0...0, 6...6], nil, "0,6,16-32"),
        ([0...3, 2...8, 9...9, 11...11], 2, "0-9,11%2"),
    ] as [([ClosedRange<Int>], Int?, String)])
    func indexList(indices: [ClosedRange<Int>], maxRunning: Int?, expected: String) throws {
        let array = try JobArray(indices: indices, maxRunning: maxRunning)
        #expect(array.indexList == expected)
        #expect(try JobArray(parsing: expected) == array, "read back")
    }

    @Test("and read by another, including the stepped form Slurm and PBS print")
    func parsing() throws {
        #expect(try JobArray(parsing: "0-15%4") == JobArray(indices: [0...15], maxRunning: 4))
        #expect(try JobArray(parsing: "7") == JobArray(taskIndices: [7]))
        let stepped = try JobArray(parsing: "0-200:2%3")
        #expect(stepped.count == 101)
        #expect(stepped.maxRunning == 3)
        #expect(stepped.contains(198) && !stepped.contains(199))
        #expect(Array(try JobArray(parsing: "1-7:3,20").taskIndices) == [1, 4, 7, 20])
    }

    @Test("malformed lists and throttles are refused with the offending part", arguments: [
        "", "1,", "-3", "3-1", "a-b", "1-4:0", "1-4:x", "1-2-3", "0-5%", "0-5%x", "0-5%0", "1,3-4,6,8...",
    ])
    func malformed(text: String) {
        #expect(throws: JobArray.Invalid.self) { try JobArray(parsing: text) }
    }

    @Test("an empty array, a negative index or a throttle below 1 is not an array")
    func invalid() {
        #expect(throws: JobArray.Invalid.self) { try JobArray(indices: [ClosedRange<Int>]()) }
        #expect(throws: JobArray.Invalid.self) { try JobArray(indices: [-1...3]) }
        #expect(throws: JobArray.Invalid.self) { try JobArray(indices: [0...3], maxRunning: 0) }
    }

    @Test("count, contains and the indices in order")
    func members() throws {
        let array = try JobArray(indices: [16...32, 0...0, 6...6])
        #expect(array.count == 19)
        #expect(array.contains(0) && array.contains(6) && array.contains(20) && array.contains(32))
        #expect(!array.contains(1) && !array.contains(15) && !array.contains(33) && !array.contains(-1))
        #expect(Array(array.taskIndices.prefix(4)) == [0, 6, 16, 17])
    }

    @Test("whether a list fits Slurm's 4 KiB, and a split into lists that do")
    func limit() throws {
        // Every other index below 1000 plus the odd ones as 4-digit numbers would be 4444 characters; here
        // the same shape: 1000 single indices with gaps.
        let sparse = try JobArray(taskIndices: stride(from: 0, to: 4000, by: 2), maxRunning: 5)
        #expect(sparse.indexList.utf8.count > JobArray.slurmIndexListLimit)
        #expect(!sparse.fitsSlurmIndexListLimit)
        let parts = sparse.split()
        #expect(parts.count > 1)
        #expect(parts.allSatisfy { $0.fitsSlurmIndexListLimit })
        #expect(parts.allSatisfy { $0.maxRunning == 5 })
        #expect(parts.flatMap { Array($0.taskIndices) } == Array(sparse.taskIndices))
        // The list Slurm printed for a 1000-index sparse array on the dev cluster (2221 characters) fits.
        let captured = try JobArray(parsing: String(decoding: try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/slurm/sacct-arrays-parsable.txt")), as: UTF8.self)
            .split(separator: "\n").first { $0.hasPrefix("3|") }!.split(separator: "|")[1].dropFirst(3).dropLast())
        #expect(captured.indexList.utf8.count == 2221)
        #expect(captured.fitsSlurmIndexListLimit)
        #expect(captured.split() == [captured])
        // Exactly at the limit fits; one more character does not.
        let atLimit = try JobArray(taskIndices: stride(from: 0, to: 2 * 2048, by: 2).prefix(1000))
        let length = atLimit.indexList.utf8.count
        #expect(atLimit.split(fittingIn: length) == [atLimit])
        #expect(atLimit.split(fittingIn: length - 1).count == 2)
    }

    @Test("JSON keeps the array; hand-edited JSON is normalised or refused")
    func codable() throws {
        let array = try JobArray(indices: [0...0, 6...6, 16...32], maxRunning: 4)
        #expect(try JSONDecoder().decode(JobArray.self, from: JSONEncoder().encode(array)) == array)
        let edited = try JSONDecoder().decode(JobArray.self, from: Data(#"{"indices":[[5,9],[0,4]]}"#.utf8))
        #expect(edited.indexList == "0-9")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(JobArray.self, from: Data(#"{"indices":[]}"#.utf8)) }
    }
}

@Suite("BatchJobSpec as the stored intent")
struct BatchJobSpecIntentTests {
    /// A spec as the version before arrays and dependencies stored it (JSONEncoder's form of that struct).
    static let storedBeforeArrays = #"""
    {"script":"#!\/bin\/bash\necho hi\n","name":"gatk_variant_calling.S1","account":"cancer_genomics_lab","partition":"debug",
     "resources":{"cpus":4,"memoryMB":16384,"timeLimitSeconds":43200,"gpus":0,"partition":"debug"},
     "workingDirectory":"\/runs\/x","stdoutPath":"\/runs\/x\/stdout.log","stderrPath":"\/runs\/x\/stderr.log",
     "comment":"hpcbridge:0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10","environment":{},"hold":false}
    """#

    @Test("a spec stored before arrays and dependencies still decodes, as a single job without dependencies")
    func oldIntent() throws {
        let spec = try JSONDecoder().decode(BatchJobSpec.self, from: Data(Self.storedBeforeArrays.utf8))
        #expect(spec.name == "gatk_variant_calling.S1")
        #expect(spec.partition == "debug")
        #expect(spec.resources.memoryMB == 16384)
        #expect(spec.array == nil)
        #expect(spec.afterOK.isEmpty)
        #expect(!spec.killOnInvalidDependency)
    }

    @Test("a spec with an array and dependencies round-trips")
    func newIntent() throws {
        var spec = try JSONDecoder().decode(BatchJobSpec.self, from: Data(Self.storedBeforeArrays.utf8))
        spec.array = try JobArray(indices: [0...15], maxRunning: 4)
        spec.afterOK = ["14474", "14480_3"]
        spec.killOnInvalidDependency = true
        let decoded = try JSONDecoder().decode(BatchJobSpec.self, from: JSONEncoder().encode(spec))
        #expect(decoded == spec)
    }
}
