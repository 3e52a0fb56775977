import ArgumentParser
import Foundation
import HPCBridge

/// `hpcbridge store migrate`: moves a site from its SQLite store to PostgreSQL, for several login nodes.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Manage the job store.",
        subcommands: [Migrate.self])

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a SQLite store into an empty PostgreSQL database (stop the service first).",
            discussion: """
                Every table is copied in one PostgreSQL transaction from one SQLite snapshot: a copy that fails
                leaves the database empty. The password comes from $HPCBRIDGE_STORE_PASSWORD or --password-file,
                never from the URL. Afterwards set `store:` to the URL (and `store_password_file:`) in the config.
                """)
        @OptionGroup var site: SiteOptions
        @Option(name: .long, help: ArgumentHelp("The SQLite store to copy (default: the config's store).", valueName: "FILE"))
        var from: String?
        @Option(name: .long, help: ArgumentHelp("The PostgreSQL database to copy into.", valueName: "postgres://USER@HOST:PORT/DATABASE"))
        var to: String
        @Option(name: .long, help: ArgumentHelp("A file holding the database password.", valueName: "FILE"))
        var passwordFile: String?

        func run() throws {
            let source: String
            if let from { source = from } else {
                do { source = try BridgeConfig.load(path: site.configPath).storePath } catch {
                    printError("\(error)")
                    throw ExitStatus.unreadable
                }
            }
            guard FileManager.default.fileExists(atPath: source) else {
                printError("no SQLite store at \(source); give the file with --from")
                throw ExitStatus.unreadable
            }
            let target: StoreLocation.PostgresLocation
            do {
                let location = try StoreLocation.parse(to, passwordFile: passwordFile, environment: ProcessInfo.processInfo.environment,
                                                       base: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
                guard case .postgres(let postgres) = location else {
                    printError("--to must be a postgres:// URL, not \(to)")
                    throw ExitStatus.invalid
                }
                target = postgres
            } catch let problem as StoreLocation.Problem {
                printError(problem.description)
                throw ExitStatus.invalid
            }
            let store: JobStore
            do { store = try JobStore(path: source) } catch {
                printError("cannot open the SQLite store at \(source): \(error)")
                throw ExitStatus.storeUnusable
            }
            let session: PostgresSession
            do { session = try PostgresSession.connect(try target.connectionConfiguration()) } catch {
                printError("cannot reach \(target): \(error); check the URL, the password and the server's pg_hba.conf")
                throw ExitStatus.storeUnusable
            }
            defer { session.close() }
            do {
                let report = try StoreCopy.copy(from: store, to: session) { table, rows in printError("copied \(table): \(rows) rows") }
                let total = report.rows.reduce(0) { $0 + $1.count }
                print("copied \(total) rows from \(source) into \(target)")
                print("next: set `store: \(target)` and `store_password_file:` in the config, then start the service")
            } catch let refused as StoreCopy.Problem {
                if case .notEmpty = refused {
                    printError("refused, nothing changed: \(refused)")
                    throw ExitStatus.invalid
                }
                printError("the copy failed and nothing was kept: \(refused)")
                throw ExitStatus.storeUnusable
            } catch {
                printError("the copy failed and nothing was kept: \(error)")
                throw ExitStatus.storeUnusable
            }
        }
    }
}
