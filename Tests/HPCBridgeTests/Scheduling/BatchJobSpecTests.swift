import Foundation
import Testing
@testable import HPCBridge

/// A job's intent is stored as `BatchJobSpec.storedJSON()`: written by hand for a single job, through
/// JSONEncoder otherwise. Either way it must read back as the same spec, and say what JSONEncoder says.
@Suite("Stored intents")
struct BatchJobSpecTests {
    static let awkward = "q\"b\\s/n\nr\rt\tb\u{8}f\u{c}c\u{1}\u{1f}d\u{7f}é😀\u{2028}"

    static func single(partition: String? = "bench", qos: String? = nil, environment: [String: String] = [:], hold: Bool = false,
                       kill: Bool = false) -> BatchJobSpec {
        BatchJobSpec(script: "#!/bin/bash\nset -euo pipefail\necho \"\(awkward)\"\n" + String(repeating: "gatk HaplotypeCaller -I in.bam\n", count: 200),
                     name: "gatk_variant_calling.S1", account: "cancer_genomics_lab", partition: partition, qos: qos,
                     resources: ResourceRequest(cpus: 8, memoryMB: 32_768, timeLimitSeconds: 86_400, gpus: 1, partition: qos, qos: partition),
                     workingDirectory: "/scratch/runs/\(awkward)", stdoutPath: "/scratch/runs/x/stdout.log", stderrPath: "/scratch/runs/x/stderr.log",
                     comment: "hpcbridge:6f1c", environment: environment, hold: hold, killOnInvalidDependency: kill)
    }

    @Test("a single job's spec reads back whole, and is the JSON value JSONEncoder writes")
    func singleJob() throws {
        let specs = [Self.single(), Self.single(partition: nil, qos: "high", environment: ["HB_X": Self.awkward, "A": ""], hold: true, kill: true),
                     Self.single(partition: nil, qos: nil)]
        for spec in specs {
            let stored = try spec.storedJSON()
            #expect(try JSONDecoder().decode(BatchJobSpec.self, from: Data(stored.utf8)) == spec)
            #expect(try JSONValue.parse(stored) == (try JSONValue.parse(JSONEncoder().encode(spec))))
        }
    }

    @Test("a spec with an array or dependencies (a run's step) reads back whole")
    func runStep() throws {
        var spec = Self.single()
        spec.array = try JobArray(indices: [0...3, 7...7], maxRunning: 2)
        spec.afterOK = ["41", "42"]
        spec.killOnInvalidDependency = true
        #expect(try JSONDecoder().decode(BatchJobSpec.self, from: Data(try spec.storedJSON().utf8)) == spec)
        var dependent = Self.single()
        dependent.afterOK = ["7"]
        #expect(try JSONDecoder().decode(BatchJobSpec.self, from: Data(try dependent.storedJSON().utf8)) == dependent)
    }
}
