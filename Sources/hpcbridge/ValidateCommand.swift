import ArgumentParser
import HPCBridge

/// `hpcbridge validate`: config, catalogs and templates, checked together.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the config, every pipeline catalog and every template; print file:line:column for each problem.")

    @OptionGroup var site: SiteOptions

    func run() throws {
        do {
            let loaded = try Site.load(configPath: site.configPath, catalogDirectory: site.catalog)
            for warning in loaded.warnings { printError("warning: \(warning)") }
            let pipelines = loaded.catalog.sorted.map { "\($0.name) \($0.version)" }.joined(separator: ", ")
            print("ok: \(loaded.config.path): \(loaded.config.groups.count) research groups, \(loaded.config.references.entries.count) references; \(loaded.catalog.pipelines.count) pipelines (\(pipelines)); templates in \(loaded.templates.directory)")
        } catch let error as LoadError {
            for issue in error.issues { print("\(issue)") }
            printError("\(error.issues.count) problem\(error.issues.count == 1 ? "" : "s") found; nothing was loaded")
            throw ExitStatus.invalid
        }
    }
}
