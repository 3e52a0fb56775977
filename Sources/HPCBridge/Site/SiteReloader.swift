import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads config, catalogs and templates on SIGHUP, atomically: a new site that does not load keeps
/// the old one serving, logs every problem with its file:line:column and counts the failure.
///
/// What a running service cannot change (its clusters, listen address, store) must stay the same; a
/// reload that changes them is refused with a hint to restart.
public struct SiteReloader: Service {
    let holder: SiteHolder
    let configPath: String
    let catalogDirectory: String?
    let metrics: BridgeMetrics?
    let logger: Logger

    public init(holder: SiteHolder, configPath: String, catalogDirectory: String?, metrics: BridgeMetrics?, logger: Logger) {
        self.holder = holder
        self.configPath = configPath
        self.catalogDirectory = catalogDirectory
        self.metrics = metrics
        self.logger = logger
    }

    /// Loads the site again and swaps it in; false (old site kept) when it does not load.
    @discardableResult
    public func reload() -> Bool {
        let old = holder.current
        do {
            let new = try Site.load(configPath: configPath, catalogDirectory: catalogDirectory)
            let fixed = [("clusters", old.config.clusters == new.config.clusters), ("listen", old.config.listen == new.config.listen),
                         ("store", old.config.storePath == new.config.storePath)]
            let changed = fixed.filter { !$0.1 }.map(\.0)
            guard changed.isEmpty else {
                logger.error("reload refused: \(changed.joined(separator: ", ")) changed; restart the service to apply that")
                metrics?.reloaded(ok: false, pipelines: old.catalog.pipelines.keys)
                return false
            }
            holder.replace(with: new)
            for warning in new.warnings { logger.warning("\(warning)") }
            logger.info("reloaded: \(new.catalog.pipelines.count) pipelines (\(new.catalog.pipelines.keys.sorted().joined(separator: ", "))), \(new.config.groups.count) research groups")
            metrics?.reloaded(ok: true, pipelines: new.catalog.pipelines.keys)
            return true
        } catch let error as LoadError {
            for issue in error.issues { logger.error("reload failed: \(issue)") }
            logger.error("reload failed with \(error.issues.count) problem(s); the previous catalogs and templates keep serving")
        } catch {
            logger.error("reload failed: \(error); the previous catalogs and templates keep serving")
        }
        metrics?.reloaded(ok: false, pipelines: old.catalog.pipelines.keys)
        return false
    }

    /// Reloads on every SIGHUP until graceful shutdown.
    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups { reload() }
        }
    }
}
