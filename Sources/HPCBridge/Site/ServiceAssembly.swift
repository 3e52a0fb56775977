import Foundation
import Logging

/// The running parts of the service for a site, put together in one place: the job store, one
/// scheduler and one reconciler per cluster, the submitter and the job service the API calls.
/// `hpcbridge serve` runs the reconcilers (and the HTTP server) in a `ServiceGroup`; tests use the same
/// assembly with a scheduler of their choosing.
public struct ServiceAssembly: Sendable {
    public let store: JobStore
    public let service: JobService
    public let reconcilers: [Reconciler]
    /// The service's metrics: fed by store commits, scheduler calls, reconcile cycles and the API.
    public let metrics: BridgeMetrics
    /// Live job changes for event streams; run it in the service group after the HTTP server, so that
    /// on shutdown it closes the streams before the server drains.
    public let events: JobEventHub
    /// The site the running service uses; `SiteReloader` swaps it on SIGHUP.
    public let siteHolder: SiteHolder
    /// Which scheduler implementation each cluster uses and why (logged at start, shown by `doctor`).
    public private(set) var schedulerChoices: [String: String]

    /// Opens the store (refusing one that cannot take writes) and chooses each cluster's scheduler with
    /// `SchedulerFactory`.
    public init(site: Site, logger: Logger = Logger(label: "hpcbridge")) throws {
        var schedulers: [String: any BatchScheduler] = [:]
        var why: [String: String] = [:]
        for (name, cluster) in site.config.clusters {
            let choice = try SchedulerFactory.make(for: cluster)
            schedulers[name] = choice.scheduler
            why[name] = "\(choice.scheduler.path): \(choice.why)"
        }
        let store = try JobStore(path: site.config.storePath)
        try store.requireWritable()
        try self.init(site: site, store: store, schedulers: schedulers, submissionGrace: nil, logger: logger)
        schedulerChoices = why
    }

    /// With given schedulers (tests, or a caller that chose them itself). `submissionGrace` overrides
    /// each cluster's `submission_grace_seconds`; `schedulerWait` is how long a request waits for a
    /// scheduler call (`JobService.schedulerWait`).
    public init(site: Site, store: JobStore, schedulers: [String: any BatchScheduler], submissionGrace: TimeInterval? = nil,
                schedulerWait: Duration = .seconds(2), logger: Logger = Logger(label: "hpcbridge")) throws {
        self.store = store
        let metrics = BridgeMetrics(groups: site.config.groups.keys, pipelines: site.catalog.pipelines.keys, clusters: Array(schedulers.keys))
        metrics.loadJobCounts(try store.stateCounts())
        store.observe { metrics.record($0) }
        metrics.loadTaskCounts(try store.taskStateCounts())
        store.observeTasks { metrics.record($0) }
        self.metrics = metrics
        let events = JobEventHub()
        store.observe { events.publish($0) }
        self.events = events
        let schedulers = schedulers.reduce(into: [String: any BatchScheduler]()) { result, entry in
            result[entry.key] = InstrumentedScheduler(entry.value, cluster: entry.key, metrics: metrics)
        }
        siteHolder = SiteHolder(site)
        let submitter = JobSubmitter(siteHolder: siteHolder, store: store, schedulers: schedulers, logger: logger)
        var reconcilers: [String: Reconciler] = [:]
        for (name, scheduler) in schedulers {
            let cluster = site.config.clusters[name]
            let interval = cluster.map { Duration.milliseconds(Int($0.reconcileIntervalSeconds * 1000)) } ?? .seconds(10)
            reconcilers[name] = Reconciler(cluster: name, store: store, scheduler: scheduler, submitter: submitter,
                                           resolver: VanishedJobResolver(exitFileDeadline: cluster?.lostAfterSeconds ?? 300), interval: interval,
                                           submissionGrace: submissionGrace ?? cluster?.submissionGraceSeconds ?? 60, metrics: metrics, logger: logger)
        }
        self.reconcilers = reconcilers.keys.sorted().map { reconcilers[$0]! }
        var service = JobService(store: store, submitter: submitter, reconcilers: reconcilers, metrics: metrics, events: events, logger: logger)
        service.schedulerWait = schedulerWait
        self.service = service
        schedulerChoices = schedulers.mapValues(\.path)
    }
}
