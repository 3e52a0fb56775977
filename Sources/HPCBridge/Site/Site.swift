import Foundation

/// Everything the service knows about a site, loaded together: config, catalog, templates, and the
/// renderer built from them. Loading checks them against each other, so a `Site` that exists is usable.
public struct Site: Sendable {
    public let config: BridgeConfig
    public let catalog: PipelineCatalog
    public let templates: TemplateSet
    /// Findings that do not stop the load (a reference file missing on this host, a registry entry no
    /// catalog offers).
    public let warnings: [FileIssue]

    public var renderer: ScriptRenderer { ScriptRenderer(templates: templates, references: config.references) }

    /// The config path used when none is given: `$HPCBRIDGE_CONFIG`, else `config/hpcbridge.yaml`.
    public static var defaultConfigPath: String {
        ProcessInfo.processInfo.environment["HPCBRIDGE_CONFIG"] ?? "config/hpcbridge.yaml"
    }

    /// Loads config, catalog and templates; `catalogDirectory` overrides the config's catalogs path.
    /// Throws one `LoadError` listing every problem of every file.
    public static func load(configPath: String, catalogDirectory: String? = nil) throws -> Site {
        let config = try BridgeConfig.load(path: configPath)
        let catalog = try PipelineCatalog.load(directory: catalogDirectory ?? config.catalogsDirectory)
        let templates = try TemplateSet.load(directory: config.templatesDirectory, catalog: catalog)
        let (errors, warnings) = SiteChecks.run(config: config, catalog: catalog)
        guard errors.isEmpty else { throw LoadError(errors) }
        return Site(config: config, catalog: catalog, templates: templates, warnings: warnings)
    }
}
