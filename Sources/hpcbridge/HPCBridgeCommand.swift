import ArgumentParser
import Foundation
import HPCBridge

/// The `hpcbridge` command line: the service and the tools catalog authors and admins use.
@main
struct HPCBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hpcbridge",
        abstract: "Submit validated bioinformatics pipelines to Slurm or PBS for research groups.",
        subcommands: [ValidateCommand.self, CheckParamsCommand.self, RenderCommand.self, ServeCommand.self, DoctorCommand.self, TokenCommand.self,
                      DemoDataCommand.self, SubmitCommand.self, StatusCommand.self, ListCommand.self, CancelCommand.self, WatchCommand.self,
                      RunCommand.self, StoreCommand.self])
}

/// Options shared by commands that read the site config.
struct SiteOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Service config file (default: $HPCBRIDGE_CONFIG or config/hpcbridge.yaml).", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Pipeline catalog directory (default: the config's catalogs).", valueName: "DIR"))
    var catalog: String?

    var configPath: String { config ?? Site.defaultConfigPath }
}

/// Exit statuses shared by the commands, so scripts can tell a bad request from a broken setup.
enum ExitStatus {
    /// The input was read and is invalid (validation errors printed one per line).
    static let invalid = ExitCode(1)
    /// The input (or the catalog/config it needs) could not be read at all.
    static let unreadable = ExitCode(2)
    /// The job store cannot be opened or failed its integrity check (`serve`): restarting will not help,
    /// so the systemd unit does not restart on it (RestartPreventExitStatus).
    static let storeUnusable = ExitCode(3)
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}

/// Reads and parses a JSON file, or explains why not and exits with status 2.
func readJSON(_ path: String) throws -> JSONValue {
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let contents = FileManager.default.contents(atPath: path) else {
            printError("\(path): cannot read the file; check the path and its permissions")
            throw ExitStatus.unreadable
        }
        data = contents
    }
    do {
        return try JSONValue.parse(data)
    } catch {
        printError("\(path): not valid JSON (\(describeJSONError(error))); check quotes, commas and brackets")
        throw ExitStatus.unreadable
    }
}

/// The parser's own words for a JSON syntax error (it names the line and column).
private func describeJSONError(_ error: Error) -> String {
    if case DecodingError.dataCorrupted(let context) = error {
        return (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
    }
    return "\(error)"
}
