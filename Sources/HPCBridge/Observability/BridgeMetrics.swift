import Foundation
import Prometheus
import Synchronization

/// Every metric the service exports, in one Prometheus registry, updated as things happen so that a
/// scrape only formats what is already counted: it costs the same with 100 or 100,000 jobs stored.
///
/// Label values are configured names (research groups, pipelines, clusters) or fixed vocabularies
/// (states, failure kinds, operations); anything a client typed that is not configured is counted as
/// `unknown`, so a caller cannot create series.
public final class BridgeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let lastReconcile = Mutex<[String: Date]>([:])
    private let knownGroups: Set<String>
    private let knownPipelines: Mutex<Set<String>>
    private let clusters: [String]
    private let startedAt = Date()

    /// Buckets for batch work: from seconds (a refused or instant job) to a week in the queue or running.
    public static let batchBuckets: [Double] = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 43_200, 86_400, 172_800, 345_600, 604_800]
    /// Buckets for calls to the controller and HTTP requests: a millisecond to a minute.
    public static let callBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    /// The names, units and help texts, in one place (computed: the library's descriptor type is not
    /// `Sendable`, so it cannot be a stored constant).
    enum Name {
        static func make(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "hpcbridge", metricName: name, unitName: unit, helpText: help)
        }
        static var buildInfo: MetricNameDescriptor { make("build_info", "", "Always 1; the version of hpcbridge serving these metrics.") }
        static var startTime: MetricNameDescriptor { make("start_time", "seconds", "When this process started, seconds since the Unix epoch.") }
        static var jobs: MetricNameDescriptor { make("jobs", "", "Jobs in the store by research group, pipeline and lifecycle state.") }
        static var accepted: MetricNameDescriptor { make("jobs_accepted", "total", "Jobs accepted (stored) by research group and pipeline.") }
        static var finished: MetricNameDescriptor { make("jobs_finished", "total", "Jobs that ended, by outcome (completed, failed, cancelled, lost) and failure kind.") }
        static var queueWait: MetricNameDescriptor { make("job_queue_wait", "seconds", "Seconds from submission to start.") }
        static var runTime: MetricNameDescriptor { make("job_run", "seconds", "Seconds from start to end of jobs that ran.") }
        static var tasks: MetricNameDescriptor { make("run_tasks", "", "Array tasks of runs by research group, pipeline, step and lifecycle state.") }
        static var tasksFinished: MetricNameDescriptor { make("run_tasks_finished", "total", "Array tasks of runs that ended, by research group, pipeline, step and outcome.") }
        static var taskRunTime: MetricNameDescriptor { make("run_task_run", "seconds", "Seconds from start to end of array tasks that ran, by pipeline and step.") }
        static var rejections: MetricNameDescriptor { make("validation_rejections", "total", "Submissions refused as invalid (422), by research group and pipeline as requested.") }
        static var quotaRefusals: MetricNameDescriptor { make("quota_refusals", "total", "Submissions refused over a quota (429): max_active_jobs or submissions_per_minute.") }
        static var callDuration: MetricNameDescriptor { make("scheduler_call_duration", "seconds", "Duration of calls to the scheduler by operation and path (slurm-library, slurm-cli, pbs-cli).") }
        static var callErrors: MetricNameDescriptor { make("scheduler_call_errors", "total", "Failed calls to the scheduler by operation, path and error kind.") }
        static var cycleDuration: MetricNameDescriptor { make("reconcile_cycle_duration", "seconds", "Duration of successful reconcile cycles.") }
        static var controllerCalls: MetricNameDescriptor { make("reconcile_controller_calls", "", "Controller calls the last reconcile cycle made (one snapshot for all jobs).") }
        static var lastSuccess: MetricNameDescriptor { make("reconcile_last_success_timestamp", "seconds", "When the last reconcile cycle succeeded, seconds since the Unix epoch.") }
        static var sinceSuccess: MetricNameDescriptor { make("reconcile_seconds_since_success", "", "Seconds since the last successful reconcile cycle (since start while there was none).") }
        static var failures: MetricNameDescriptor { make("reconcile_failures", "total", "Reconcile cycles that failed; the reconciler backs off and retries.") }
        static var adopted: MetricNameDescriptor { make("jobs_adopted", "total", "Accepted jobs found in the scheduler by their id after a crash and adopted, not resubmitted.") }
        static var recoverySubmitted: MetricNameDescriptor { make("jobs_recovery_submitted", "total", "Accepted jobs the reconciler submitted itself (after a crash or an outage).") }
        static var resolved: MetricNameDescriptor { make("jobs_resolved", "total", "Jobs the controller had forgotten, resolved by source (accounting, exit_file).") }
        static var lost: MetricNameDescriptor { make("jobs_lost", "total", "Jobs marked lost: neither the scheduler, accounting nor the exit-code file knew their end.") }
        static var requeued: MetricNameDescriptor { make("jobs_requeued", "total", "Requeues the reconciler saw.") }
        static var reloads: MetricNameDescriptor { make("reloads", "total", "Reloads of config, catalogs and templates on SIGHUP by result (ok, failed: the previous ones keep serving).") }
        static var httpRequests: MetricNameDescriptor { make("http_requests", "total", "HTTP requests by route pattern, method and status.") }
        static var httpDuration: MetricNameDescriptor { make("http_request_duration", "seconds", "HTTP request duration by route pattern and method.") }
        /// Every metric, with whether it is a histogram (for checks of dashboards and rules).
        static var all: [(descriptor: MetricNameDescriptor, histogram: Bool)] {
            let countersAndGauges: [MetricNameDescriptor] = [
                buildInfo, startTime, jobs, accepted, finished, tasks, tasksFinished, rejections, quotaRefusals, callErrors,
                controllerCalls, lastSuccess, sinceSuccess, failures, adopted, recoverySubmitted, resolved,
                lost, requeued, reloads, httpRequests,
            ]
            let histograms: [MetricNameDescriptor] = [queueWait, runTime, taskRunTime, callDuration, cycleDuration, httpDuration]
            return countersAndGauges.map { ($0, false) } + histograms.map { ($0, true) }
        }
    }

    /// The full names of every series this service can export (`_bucket`, `_sum`, `_count` for histograms).
    public static var seriesNames: Set<String> {
        Set(Name.all.flatMap { entry in entry.histogram ? ["_bucket", "_sum", "_count"].map { entry.descriptor.name + $0 } : [entry.descriptor.name] })
    }

    public init(groups: some Sequence<String>, pipelines: some Sequence<String>, clusters: [String], version: String = BridgeVersion.current) {
        registry = PrometheusCollectorRegistry()
        knownGroups = Set(groups)
        knownPipelines = Mutex(Set(pipelines))
        self.clusters = clusters.sorted()
        registry.makeGauge(descriptor: Name.buildInfo, labels: [("version", version)]).set(to: 1)
        registry.makeGauge(descriptor: Name.startTime).set(to: startedAt.timeIntervalSince1970)
        // Series alerts rely on exist from the start, at zero.
        for result in ["ok", "failed"] { _ = registry.makeCounter(descriptor: Name.reloads, labels: [("result", result)]) }
        for cluster in self.clusters {
            _ = registry.makeCounter(descriptor: Name.failures, labels: [("cluster", cluster)])
            _ = registry.makeCounter(descriptor: Name.lost, labels: [("cluster", cluster)])
        }
    }

    /// A configured name, or `unknown` for anything else.
    func group(_ name: String) -> String { knownGroups.contains(name) ? name : "unknown" }
    func pipeline(_ name: String) -> String { knownPipelines.withLock { $0.contains(name) } ? name : "unknown" }

    // MARK: Jobs

    private func jobsGauge(_ group: String, _ pipeline: String, _ state: JobState) -> Gauge {
        registry.makeGauge(descriptor: Name.jobs, labels: [("group", group), ("pipeline", pipeline), ("state", state.rawValue)])
    }

    /// Sets the per-state gauges from the store's counts (once, at start; commits keep them current).
    public func loadJobCounts(_ counts: [JobStore.StateCount]) {
        for count in counts {
            jobsGauge(count.group, count.pipeline, count.state).set(to: Double(count.count))
        }
    }

    /// Updates gauges, counters and histograms for committed job changes.
    public func record(_ events: [JobStore.Event]) {
        for event in events {
            let job = event.job, t = event.transition
            let labels = [("group", job.researchGroup), ("pipeline", job.pipelineName)]
            if let from = t.fromState { jobsGauge(job.researchGroup, job.pipelineName, from).decrement() }
            jobsGauge(job.researchGroup, job.pipelineName, t.toState).increment()
            if t.fromState == nil {
                registry.makeCounter(descriptor: Name.accepted, labels: labels).increment()
            }
            if t.toState == .running, let submitted = job.submittedAt, let started = job.startedAt {
                registry.makeValueHistogram(descriptor: Name.queueWait, labels: labels, buckets: Self.batchBuckets)
                    .record(max(0, started.timeIntervalSince(submitted)))
            }
            if t.toState.isTerminal {
                registry.makeCounter(descriptor: Name.finished, labels: labels + [("outcome", t.toState.rawValue), ("failure_kind", job.failureKind ?? "none")])
                    .increment()
                if let started = job.startedAt, let finished = job.finishedAt {
                    registry.makeValueHistogram(descriptor: Name.runTime, labels: labels, buckets: Self.batchBuckets)
                        .record(max(0, finished.timeIntervalSince(started)))
                }
            }
        }
    }

    // MARK: Run tasks

    private func tasksGauge(_ group: String, _ pipeline: String, _ step: String, _ state: JobState) -> Gauge {
        registry.makeGauge(descriptor: Name.tasks, labels: [("group", group), ("pipeline", pipeline), ("step", step), ("state", state.rawValue)])
    }

    /// Sets the task gauges from the store's counts (once, at start; task writes keep them current).
    public func loadTaskCounts(_ counts: [(group: String, pipeline: String, step: String, state: JobState, count: Int)]) {
        for count in counts { tasksGauge(count.group, count.pipeline, count.step, count.state).set(to: Double(count.count)) }
    }

    /// Updates the task gauges, counters and run-time histogram for committed task changes. Labels are
    /// configured names (group, pipeline, and the catalog's step names), never a run's id.
    public func record(_ changes: [TaskChange]) {
        for change in changes {
            if let from = change.from { tasksGauge(change.group, change.pipeline, change.step, from).decrement() }
            tasksGauge(change.group, change.pipeline, change.step, change.to).increment()
            guard change.to.isTerminal else { continue }
            registry.makeCounter(descriptor: Name.tasksFinished, labels: [("group", change.group), ("pipeline", change.pipeline), ("step", change.step),
                                                                          ("outcome", change.to.rawValue)]).increment()
            if let seconds = change.runSeconds {
                registry.makeValueHistogram(descriptor: Name.taskRunTime, labels: [("pipeline", change.pipeline), ("step", change.step)], buckets: Self.batchBuckets)
                    .record(seconds)
            }
        }
    }

    /// A request refused for invalid parameters or envelope (422).
    public func validationRejected(group: String, pipeline: String) {
        registry.makeCounter(descriptor: Name.rejections, labels: [("group", self.group(group)), ("pipeline", self.pipeline(pipeline))]).increment()
    }

    /// A submission refused over a quota (429).
    public func quotaRefused(group: String, quota: String) {
        registry.makeCounter(descriptor: Name.quotaRefusals, labels: [("group", self.group(group)), ("quota", quota)]).increment()
    }

    // MARK: Scheduler and reconciler

    /// One call to a scheduler, timed; `error` is the error kind when it failed.
    public func schedulerCall(cluster: String, operation: String, path: String, seconds: Double, error: String?) {
        let labels = [("cluster", cluster), ("operation", operation), ("path", path)]
        registry.makeValueHistogram(descriptor: Name.callDuration, labels: labels, buckets: Self.callBuckets).record(seconds)
        if let error {
            registry.makeCounter(descriptor: Name.callErrors, labels: labels + [("error", error)]).increment()
        }
    }

    /// A finished reconcile cycle.
    public func reconciled(cluster: String, report: Reconciler.Report, seconds: Double, at now: Date) {
        let labels = [("cluster", cluster)]
        registry.makeValueHistogram(descriptor: Name.cycleDuration, labels: labels, buckets: Self.callBuckets).record(seconds)
        registry.makeGauge(descriptor: Name.controllerCalls, labels: labels).set(to: Double(report.controllerCalls))
        registry.makeGauge(descriptor: Name.lastSuccess, labels: labels).set(to: now.timeIntervalSince1970)
        let counts: [(MetricNameDescriptor, Int, [(String, String)])] = [
            (Name.adopted, report.adopted, []), (Name.recoverySubmitted, report.submitted, []),
            (Name.resolved, report.resolvedFromAccounting, [("source", "accounting")]),
            (Name.resolved, report.resolvedFromExitFile, [("source", "exit_file")]),
            (Name.lost, report.lost, []), (Name.requeued, report.requeued, []),
        ]
        for (name, value, extra) in counts {
            let counter = registry.makeCounter(descriptor: name, labels: labels + extra)
            if value > 0 { counter.increment(by: Int64(value)) }
        }
        lastReconcile.withLock { $0[cluster] = now }
    }

    /// A failed reconcile cycle (the controller did not answer, or the store refused).
    public func reconcileFailed(cluster: String) {
        registry.makeCounter(descriptor: Name.failures, labels: [("cluster", cluster)]).increment()
    }

    // MARK: Reload

    /// A reload of config, catalogs and templates (SIGHUP), and the pipelines known afterwards.
    public func reloaded(ok: Bool, pipelines: some Sequence<String>) {
        registry.makeCounter(descriptor: Name.reloads, labels: [("result", ok ? "ok" : "failed")]).increment()
        if ok { knownPipelines.withLock { $0 = Set(pipelines) } }
    }

    // MARK: HTTP

    /// One HTTP request by route pattern, method and status.
    public func httpRequest(route: String, method: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: Name.httpRequests, labels: [("route", route), ("method", method), ("status", String(status))]).increment()
        registry.makeValueHistogram(descriptor: Name.httpDuration, labels: [("route", route), ("method", method)], buckets: Self.callBuckets).record(seconds)
    }

    // MARK: Exposition

    /// The Prometheus text format (0.0.4), with the "seconds since" gauges brought up to `now`.
    public func exposition(now: Date = Date()) -> String {
        let last = lastReconcile.withLock { $0 }
        for cluster in clusters {
            registry.makeGauge(descriptor: Name.sinceSuccess, labels: [("cluster", cluster)])
                .set(to: now.timeIntervalSince(last[cluster] ?? startedAt))
        }
        return registry.emitToString()
    }
}

/// The version hpcbridge reports (`hpcbridge_build_info`).
public enum BridgeVersion {
    public static let current = "0.2.0"
}
