import ArgumentParser
import HPCBridge
import HPCBridgeServer
import Hummingbird

/// `hpcbridge serve`: the HTTP API.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the REST API (today: health and the pipeline catalog) until SIGTERM or SIGINT.")

    @OptionGroup var site: SiteOptions

    @Option(name: .long, help: ArgumentHelp("Address to listen on.", valueName: "HOST:PORT"))
    var listen = "127.0.0.1:8080"

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("--listen must be HOST:PORT, such as 127.0.0.1:8080")
        }
        let host = String(listen[..<colon])
        let loaded: Site
        do { loaded = try Site.load(configPath: site.configPath, catalogDirectory: site.catalog) } catch {
            printError("\(error)")
            throw ExitStatus.unreadable
        }
        for warning in loaded.warnings { printError("warning: \(warning)") }
        let app = buildApplication(site: loaded, configuration: .init(address: .hostname(host, port: port), serverName: "hpcbridge"))
        try await app.runService()
    }
}
