import ArgumentParser
import Foundation
import HPCBridge

/// `hpcbridge doctor`: what this host offers hpcbridge, and what each configured cluster will use.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Report which scheduler paths work here: libslurm, the Slurm CLI, accounting, the controller, PBS tools.",
        discussion: "Exit status: 0 when every configured cluster has a working path; 1 when one has none.")

    @OptionGroup var site: SiteOptions

    func run() async throws {
        let status = SlurmLibraryStatus.probe()
        if status.usable {
            print("libslurm: usable: \(status.library), API \(status.libraryVersion ?? "?"), built with Slurm \(status.headerVersion ?? "?") headers")
        } else {
            print("libslurm: not usable: \(status.reason)")
        }
        let runner = CommandRunner()
        for tool in ["sbatch", "squeue", "sacct", "scancel", "qsub", "qstat", "qdel"] {
            print("\(tool): \(CommandRunner.locate(tool) ?? "not on PATH")")
        }
        if CommandRunner.locate("sacctmgr") != nil {
            let accounting = try? await runner.run("sacctmgr", ["-n", "-P", "show", "cluster", "format=cluster"], timeout: .seconds(10), operation: "doctor")
            if let accounting, accounting.status == 0 {
                print("accounting: answers (clusters: \(accounting.stdoutText.split(separator: "\n").joined(separator: ", ")))")
            } else {
                print("accounting: does not answer (\(accounting?.stderr.trimmingCharacters(in: .whitespacesAndNewlines) ?? "sacctmgr failed")); vanished jobs will be resolved from exit-code files")
            }
        }

        if CommandRunner.locate("scontrol") != nil,
           let shown = try? await runner.run("scontrol", ["show", "config"], timeout: .seconds(10), operation: "doctor"), shown.status == 0 {
            // Recovery after a long outage finds jobs in accounting by their hpcbridge:<id> comment.
            let flags = shown.stdoutText.split(separator: "\n").first { $0.hasPrefix("AccountingStoreFlags") } ?? ""
            print(flags.contains("job_comment")
                ? "job comments in accounting: yes (AccountingStoreFlags=job_comment)"
                : "job comments in accounting: no; add AccountingStoreFlags=job_comment to slurm.conf so a restarted service can find its jobs in accounting")
        }

        let config: BridgeConfig
        do { config = try BridgeConfig.load(path: site.configPath) } catch {
            printError("\(error)")
            throw ExitStatus.unreadable
        }
        var healthy = true
        for cluster in config.clusters.values.sorted(by: { $0.name < $1.name }) {
            do {
                let choice = try SchedulerFactory.make(for: cluster)
                let clock = ContinuousClock()
                let start = clock.now
                let snapshot = try await choice.scheduler.states(changedSince: nil)
                let elapsed = clock.now - start
                let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                print("cluster \(cluster.name): \(choice.scheduler.path) (\(choice.why)); controller answers in \(String(format: "%.1f", ms)) ms with \(snapshot.jobs.count) jobs")
            } catch {
                healthy = false
                print("cluster \(cluster.name): no working path: \(error)")
            }
        }
        if !healthy { throw ExitStatus.invalid }
    }
}
