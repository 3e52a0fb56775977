import Testing
@testable import HPCBridge

/// A controller that cannot be reached must never fail a job: the reconciler submits it later.
@Suite struct SlurmErrorCodesTests {
    @Test("a stopped, unreachable or busy controller or database is transient")
    func transient() {
        // 1800: what libslurm reports while slurmctld is stopped (seen in the reliability suite);
        // 1001: a port nobody listens on; 5004: a socket timeout; 7000: slurmdbd down; 11: busy.
        for number: Int32 in [1800, 1801, 1802, 1001, 1002, 1003, 5004, 7000, 11, 2026] {
            #expect(SlurmErrorCodes.isTransient(number), "\(number)")
        }
    }

    @Test("refusals of the request itself are not")
    func refusals() {
        // Invalid partition, access denied, invalid account, too many CPUs, invalid time limit, bad QOS.
        for number: Int32 in [2000, 2002, 2045, 2005, 2051, 2066, 0, -1, 1900] {
            #expect(!SlurmErrorCodes.isTransient(number), "\(number)")
        }
    }

    @Test("the error a stopped controller gives leaves a submission deferred, not refused")
    func classification() {
        let message = Array("slurm_submit_batch_job: Unable to contact slurm controller (connect failure)".utf8CString)
        let error = SlurmLibraryScheduler.error(-1, 1800, message, operation: "submit")
        #expect(error.transient)
        #expect(!SlurmLibraryScheduler.error(-1, 2000, message, operation: "submit").transient)
    }
}
