import Foundation

/// The report as Markdown tables: printed at the end of a run and pasted into BENCHMARKS.md.
enum ReportTable {
    static func render(_ report: BenchReport) -> String {
        let m = report.machine
        var out = "## hpcbridge benchmarks, \(ISO8601DateFormatter().string(from: report.startedAt))\n\n"
        out += "Machine: \(m.cpus) CPUs (\(m.cpuModel)), \(String(format: "%.1f", m.memoryGB)) GB, Linux \(m.kernel); \(m.slurm); "
        out += "commit \(m.commit); binary \(m.binary)\(report.settings.smoke ? "; SMOKE RUN (sizes shrunk, numbers mean nothing)" : "")\n\n"
        out += "Command: `\(report.command)`\n\n"
        let s = report.settings
        if !report.submission.isEmpty {
            out += "### 1. Submission throughput (\(s.submissionJobs) jobs per trial, \(s.trials) trials, medians)\n\n"
            let libslurm = report.submission.first { $0.contender == .libslurm }?.medianJobsPerSecond ?? 0
            out += table(["contender", "clients", "jobs/s", "vs libslurm", "p50 ms", "p99 ms", "ctld RPCs/job", "client CPU ms/job", "errors", "trials (jobs/s)"],
                         report.submission.map { r in
                             [r.contender.rawValue, "\(r.clients)", f(r.medianJobsPerSecond, 1), libslurm > 0 ? f(r.medianJobsPerSecond / libslurm, 2) + "x" : "-",
                              f(r.medianLatencyP50MS, 2), f(r.medianLatencyP99MS, 2), f(r.controllerRPCsPerJob, 2), r.medianClientCPUPerJobMS.map { f($0, 2) } ?? "-", "\(r.errors)",
                              r.trials.map { f($0.jobsPerSecond, 0) }.joined(separator: " ")]
                         })
        }
        if !report.reconcile.isEmpty {
            out += "\n### 2. Reconcile cost (one Reconciler cycle; full: 1 % of the jobs moved; no-change: median of \(s.noChangeRepetitions) on the library path, 3 on the CLI path)\n\n"
            out += table(["jobs", "path", "full cycle ms", "full cpu ms", "moved", "full RPCs", "every job moves ms", "cpu ms", "no-change ms", "no-change cpu ms", "no-change RPCs", "snapshot alone ms", "controller query ms"],
                         report.reconcile.map { r in
                             ["\(r.jobs)", r.path, f(r.fullCycleMS, 1), f(r.fullCycleCPUMS, 1), "\(r.fullCycleTransitions)", "\(r.fullCycleControllerRPCs)",
                              f(r.everyJobMovesMS, 1), f(r.everyJobMovesCPUMS, 1), f(r.noChangeCycleMS, 3), f(r.noChangeCycleCPUMS, 3), f(r.noChangeCycleControllerRPCs, 2), f(r.snapshotMS, 1), f(r.controllerQueryMS, 1)]
                         })
            let types = Set(report.reconcile.flatMap { $0.fullCycleRPCTypes.keys }).sorted()
            out += "\nRPC types in full cycles: \(types.joined(separator: ", "))\n"
        }
        if !report.reads.isEmpty {
            out += "\n### 3. API reads (\(s.readConnections) connections, \(s.readSeconds) s, \(s.readJobs) jobs)\n\n"
            out += table(["target", "transport", "connections", "req/s", "p50 ms", "p99 ms", "requests", "errors"],
                         report.reads.map { r in
                             [r.target, r.transport, "\(r.connections)", f(r.requestsPerSecond, 0), f(r.latencyP50MS, 2), f(r.latencyP99MS, 2), "\(r.requests)", "\(r.errors)"]
                         })
        }
        if !report.scrape.isEmpty {
            out += "\n### 4. /metrics scrape and memory (\(s.scrapes) sequential scrapes)\n\n"
            out += table(["stored jobs", "store MB", "scrape p50 ms", "scrape p99 ms", "RSS idle MB", "RSS after MB", "peak RSS MB", "anonymous MB", "gauge = store"],
                         report.scrape.map { r in
                             ["\(r.storedJobs)", f(r.storeMB, 1), f(r.scrapeP50MS, 2), f(r.scrapeP99MS, 2), f(r.idleRSSMB, 1), f(r.rssAfterScrapesMB, 1),
                              f(r.peakRSSMB, 1), f(r.anonymousMB, 1), r.gaugeMatchesStore ? "yes" : "NO"]
                         })
        }
        if !report.runs.isEmpty {
            out += "\n### 5. Runs: one \(s.runSamples)-sample cohort against \(s.runSamples) jobs (\(s.trials) trials, medians; RPCs until the last answer)\n\n"
            out += table(["contender", "jobs/tasks", "calls", "accepted s", "all known to the controller s", "submit RPCs", "total RPCs", "errors", "trials (accepted s)"],
                         report.runs.map { r in
                             [r.contender.rawValue, "\(r.tasks)", "\(r.calls)", f(r.medianAcceptedSeconds, 3), f(r.medianKnownSeconds, 3), f(r.medianSubmitRPCs, 0),
                              f(r.medianTotalRPCs, 0), "\(r.errors)", r.trials.map { f($0.acceptedSeconds, 2) }.joined(separator: " ")]
                         })
            out += "\nRPC types, summed over the trials: " + report.runs.map { r in
                "\(r.contender.rawValue): " + r.rpcTypes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            }.joined(separator: "; ") + "\n"
        }
        if !report.arrayReconcile.isEmpty {
            out += "\n### 5b. Reconcile cost with arrays (\(s.arrayRuns) runs, each a held array of \(s.arrayTasks) tasks and a job waiting on it; full: 1 % of each array's tasks released)\n\n"
            out += table(["runs x tasks", "path", "open jobs", "full cycle ms", "full cpu ms", "tasks moved", "full RPCs", "every task moves ms", "cpu ms", "tasks",
                          "no-change ms", "no-change RPCs", "snapshot alone ms", "controller query ms", "records"],
                         report.arrayReconcile.map { r in
                             ["\(r.runs) x \(r.tasksPerArray)", r.path, "\(r.openJobs)", f(r.fullCycleMS, 1), f(r.fullCycleCPUMS, 1), "\(r.fullCycleTasksMoved)",
                              "\(r.fullCycleControllerRPCs)", f(r.everyTaskMovesMS, 1), f(r.everyTaskMovesCPUMS, 1), "\(r.everyTaskMovesTasks)",
                              f(r.noChangeCycleMS, 3), f(r.noChangeCycleControllerRPCs, 2), f(r.snapshotMS, 1), f(r.controllerQueryMS, 1),
                              r.path == ReconcileBenchmark.Path.library.rawValue ? "\(r.controllerRecords)" : "-"]
                         })
            let types = Set(report.arrayReconcile.flatMap { $0.fullCycleRPCTypes.keys }).sorted()
            out += "\nRPC types in full cycles: \(types.joined(separator: ", "))\n"
        }
        if !report.goals.isEmpty {
            out += "\n### Goals\n\n"
            out += table(["goal", "target", "measured", "met"], report.goals.map { g in
                [g.name, g.target, g.measured, g.met.map { $0 ? "yes" : "**no**" } ?? "not measured"]
            })
        }
        return out
    }

    static func f(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    /// Left-aligned in a column of `width` characters.
    static func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |\n"
        }
        return line(header) + line(widths.map { String(repeating: "-", count: max(3, $0)) }) + rows.map(line).joined()
    }
}
