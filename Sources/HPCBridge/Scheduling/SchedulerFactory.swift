/// Chooses the scheduler implementation for a configured cluster, and says why.
public enum SchedulerFactory {
    /// The chosen implementation and a sentence for logs and `doctor`.
    public struct Choice: Sendable {
        public let scheduler: any BatchScheduler
        public let why: String
    }

    /// `mode: library` insists on libslurm; `mode: cli` uses the tools; `mode: auto` prefers the library
    /// and falls back to the CLI with the probe's reason.
    public static func make(for cluster: ClusterConfig) throws -> Choice {
        switch cluster.scheduler {
        case .pbs:
            return Choice(scheduler: PBSCLIScheduler(), why: "PBS is reached through qsub/qstat/qdel")
        case .slurm:
            let status = SlurmLibraryStatus.probe()
            switch cluster.mode {
            case .cli:
                return Choice(scheduler: SlurmCLIScheduler(), why: "mode: cli")
            case .library:
                return Choice(scheduler: try SlurmLibraryScheduler(), why: "mode: library, \(status.library) (API \(status.libraryVersion?.split(separator: ".").first.map(String.init) ?? "?"), headers \(status.headerVersion ?? "?"))")
            case .auto:
                if status.usable, let library = try? SlurmLibraryScheduler() {
                    return Choice(scheduler: library, why: "mode: auto, libslurm loaded: \(status.library) (API \(status.libraryVersion?.split(separator: ".").first.map(String.init) ?? "?"), headers \(status.headerVersion ?? "?"))")
                }
                return Choice(scheduler: SlurmCLIScheduler(), why: "mode: auto, falling back to the CLI: \(status.reason)")
            }
        }
    }
}
