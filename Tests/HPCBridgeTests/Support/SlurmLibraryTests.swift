import Testing
@testable import HPCBridge

@Suite("libslurm probe")
struct SlurmLibraryTests {
    @Test("the probe explains itself either way")
    func probe() {
        let status = SlurmLibraryStatus.probe()
        if status.usable {
            #expect(status.reason.isEmpty)
            #expect(status.builtWithHeaders)
            #expect(status.libraryVersion?.split(separator: ".").count == 3)
        } else {
            #expect(!status.reason.isEmpty)
            if !status.builtWithHeaders { #expect(status.reason.contains("built without Slurm headers")) }
        }
        #expect(SlurmLibraryStatus.probe() == status)
    }
}
