import Foundation
import Testing
@testable import HPCBridge

@Suite("Vanished jobs: accounting, then the exit-code file, then lost")
struct VanishedJobResolverTests {
    let vanished = Date(timeIntervalSince1970: 1_000_000)
    func resolver(_ files: [String: String]) -> VanishedJobResolver {
        VanishedJobResolver(exitFileDeadline: 120) { files[$0] }
    }
    func accounted(_ status: SchedulerStatus) -> SchedulerJobState {
        SchedulerJobState(id: "7", status: status, rawState: "X", exit: ProcessExit(code: 3))
    }

    @Test("accounting answers first")
    func accounting() {
        let r = resolver(["/run/x": "0\n"]).resolve(accounting: accounted(.failed(.nonZeroExit(code: 3))), accountingError: nil,
                                                    exitCodePath: "/run/x", vanishedAt: vanished, now: vanished)
        #expect(r == .resolved(.failed(.nonZeroExit(code: 3)), exit: ProcessExit(code: 3), source: "accounting"))
    }

    @Test("without accounting, the exit-code file decides", arguments: [
        ("0\n", SchedulerStatus.completed), ("3\n", .failed(.nonZeroExit(code: 3))), ("143\n", .failed(.signal(15))),
    ])
    func exitFile(text: String, expected: SchedulerStatus) {
        let r = resolver(["/run/x": text]).resolve(accounting: nil, accountingError: "accounting storage is disabled",
                                                   exitCodePath: "/run/x", vanishedAt: vanished, now: vanished)
        guard case .resolved(let status, _, let source) = r else { Issue.record("\(r)"); return }
        #expect(status == expected)
        #expect(source == "exit-code file")
    }

    @Test("a missing file is waited for until the deadline, then the job is lost with the reason")
    func deadline() {
        let r = resolver([:])
        #expect(r.resolve(accounting: nil, accountingError: "disabled", exitCodePath: "/run/x", vanishedAt: vanished, now: vanished.addingTimeInterval(60)) == .pending)
        let lost = r.resolve(accounting: nil, accountingError: "disabled", exitCodePath: "/run/x", vanishedAt: vanished, now: vanished.addingTimeInterval(121))
        guard case .lost(let reason) = lost else { Issue.record("\(lost)"); return }
        #expect(reason.contains("accounting could not answer (disabled)"))
        #expect(reason.contains("/run/x"))
    }

    @Test("never assumed successful: a non-terminal accounting record does not resolve")
    func neverAssumed() {
        let r = resolver([:]).resolve(accounting: accounted(.running), accountingError: nil, exitCodePath: "/run/x", vanishedAt: vanished, now: vanished.addingTimeInterval(500))
        guard case .lost = r else { Issue.record("\(r)"); return }
    }
}
