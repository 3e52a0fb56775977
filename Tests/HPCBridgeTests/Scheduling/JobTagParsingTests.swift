import Foundation
import Testing
@testable import HPCBridge

/// The job tag in a Slurm comment or PBS variable is parsed by hand for speed; it must agree with
/// Foundation's parser on every canonical UUID and refuse everything else.
@Suite struct JobTagParsingTests {
    @Test func agreesWithFoundationOnRandomUUIDsInBothCases() {
        for _ in 0..<1_000 {
            let id = UUID()
            #expect(UUID(canonicalUTF8: id.uuidString.lowercased()[...].utf8) == id)
            #expect(UUID(canonicalUTF8: id.uuidString.uppercased()[...].utf8) == id)
            #expect(SchedulerJobState.tag(from: "  hpcbridge:\(id.uuidString.lowercased())\t") == id)
        }
    }

    @Test(arguments: [
        "", "hpcbridge:", "0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e1", "0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e100",
        "0b7c52a4_8f0e-4a43-9d57-3c1a2b9d6e10", "0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e1g", "0b7c52a48f0e-4a43-9d57-3c1a2b9d6e10-",
        "hpcbridge:0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e1ü", "{0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e}", "run 42 of the cohort",
    ])
    func refusesWhatIsNotACanonicalUUID(_ text: String) {
        #expect(SchedulerJobState.tag(from: text) == nil)
        #expect(UUID(uuidString: text.replacingOccurrences(of: "hpcbridge:", with: "")) == nil)
    }
}
