import ArgumentParser
import HPCBridge
import HPCBridgeServer
import Hummingbird
import Logging
import ServiceLifecycle

/// `hpcbridge serve`: the job service. The HTTP API and one reconciler per cluster run in one
/// `ServiceGroup`; SIGTERM or SIGINT stops them gracefully (in-flight requests finish, reconcilers end
/// their cycle), and everything durable is already in the store. SIGHUP reloads config, catalogs and
/// templates (`SiteReloader`).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the REST API and follow every job on its cluster until SIGTERM or SIGINT.")

    @OptionGroup var site: SiteOptions

    @Option(name: .long, help: ArgumentHelp("Address to listen on (default: the config's listen, or $HPCBRIDGE_LISTEN).", valueName: "HOST:PORT"))
    var listen: String?

    func run() async throws {
        let loaded: Site
        do { loaded = try Site.load(configPath: site.configPath, catalogDirectory: site.catalog) } catch {
            printError("\(error)")
            throw ExitStatus.unreadable
        }
        let address = listen ?? loaded.config.listen
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
            printError("listen address \"\(address)\" must be HOST:PORT, such as 127.0.0.1:8080")
            throw ExitStatus.unreadable
        }
        let format = loaded.config.logFormat, level = loaded.config.logLevel
        // Lines are written in batches from a thread of their own; flushed on the way out.
        let logWriter = BufferedLogWriter.standardError
        LoggingSystem.bootstrap { StructuredLogHandler(label: $0, format: format, level: level, write: logWriter.write) }
        defer { logWriter.flush() }
        let logger = Logger(label: "hpcbridge")
        for warning in loaded.warnings { logger.warning("\(warning)") }
        let assembly: ServiceAssembly
        do { assembly = try ServiceAssembly(site: loaded, logger: logger) } catch let error as JobStore.StoreError {
            printError("cannot start: \(error)")
            throw ExitStatus.storeUnusable
        } catch {
            printError("cannot start: \(error)")
            throw ExitStatus.unreadable
        }
        for (cluster, why) in assembly.schedulerChoices.sorted(by: { $0.key < $1.key }) {
            logger.info("cluster \(cluster) uses \(why)")
        }
        logger.info("job store at \(assembly.store.path)")
        let app = try buildApplication(service: assembly.service,
                                       configuration: .init(address: .hostname(String(address[..<colon]), port: port), serverName: "hpcbridge"),
                                       logger: logger)
        // Shutdown runs in reverse: the event hub closes open streams, then HTTP drains, then the
        // reconcilers stop.
        let reloader = SiteReloader(holder: assembly.siteHolder, configPath: site.configPath, catalogDirectory: site.catalog,
                                    metrics: assembly.metrics, logger: logger)
        let services: [ServiceGroupConfiguration.ServiceConfiguration] =
            assembly.reconcilers.map { .init(service: $0) } + [.init(service: app), .init(service: assembly.events), .init(service: reloader), .init(service: assembly.service.tokens)]
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        // The store is closed once nothing runs any more, also when the group ended with an error.
        defer {
            do { try assembly.store.close() } catch {
                logger.warning("the job store was not closed cleanly (\(error)); SQLite completes it from the -wal file at the next start")
            }
        }
        try await group.run()
    }
}
