import Foundation

/// Limits of the scheduler's configuration that decide whether a request can be submitted at all, read
/// from the controller so a request that could never run is refused with a clear 422 instead of being
/// accepted and failing at submission.
public struct SchedulerLimits: Sendable, Hashable {
    /// The most tasks one job array may have (Slurm: MaxArraySize, whose highest index is one less;
    /// PBS: the server's max_array_size). nil: the scheduler did not say.
    public var maxArrayTasks: Int?
    /// The controller's own version (Slurm's `SLURM_VERSION`, PBS's `pbs_version`), as GA4GH WES's
    /// service-info shows the engine behind the service. nil: the scheduler did not say.
    public var version: String?

    public init(maxArrayTasks: Int? = nil, version: String? = nil) {
        self.maxArrayTasks = maxArrayTasks
        self.version = version
    }
}
