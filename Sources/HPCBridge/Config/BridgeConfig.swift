import Foundation
import Logging

/// The service configuration (`config/hpcbridge.yaml`): where catalogs and templates are, the reference
/// registry, the clusters and the research groups.
public struct BridgeConfig: Sendable {
    /// The file it was read from; relative directories are resolved against its folder.
    public let path: String
    /// The parsed file, kept so later checks can point at lines without reading it again.
    public let document: YAMLDocument
    /// `HOST:PORT` the API listens on (`$HPCBRIDGE_LISTEN` overrides the file).
    public let listen: String
    /// The SQLite job store (`$HPCBRIDGE_STORE` overrides the file).
    public let storePath: String
    public let catalogsDirectory: String
    public let templatesDirectory: String
    public let references: ReferenceRegistry
    public let clusters: [String: ClusterConfig]
    public let groups: [String: ResearchGroup]
    /// SHA-256 (hex) of admin tokens declared in the config, or in `$HPCBRIDGE_ADMIN_TOKEN_SHA256`
    /// (comma-separated; it replaces the file's list, so a secret store can supply it).
    public let adminTokenHashes: [String]
    /// How `serve` writes its log (`log: {format, level}`; `$HPCBRIDGE_LOG_FORMAT`, `$HPCBRIDGE_LOG_LEVEL`).
    public let logFormat: StructuredLogHandler.Format
    public let logLevel: Logger.Level
    /// Connection limits (`http: {idle_timeout_seconds, body_timeout_seconds}`): a connection with no
    /// complete request part for the idle timeout is closed (an idle keep-alive connection, or a client
    /// sending its headers a byte at a time); a request body still arriving after the body timeout is
    /// answered 408. A slow or stalled client then cannot hold a connection, and its task, for ever.
    public let httpIdleTimeoutSeconds: Double
    public let httpBodyTimeoutSeconds: Double
    /// The service's address as clients reach it (`public_url`, no trailing slash), for absolute URLs in
    /// answers; nil to take each request's Host.
    public let publicURL: String?
    /// How the GA4GH WES interface describes the service (`wes:`).
    public let wes: WESSettings
    /// How long a web sign-in lasts (`web: {session_hours}`), in seconds.
    public let webSessionSeconds: Double

    /// Reads and checks the config; all problems are reported together with their positions.
    public static func load(path: String) throws -> BridgeConfig {
        let document = try YAMLDocument(contentsOf: path)
        let (value, shapeIssues) = FileFormats.check(document, against: FileFormats.config)
        guard shapeIssues.isEmpty else { throw LoadError(shapeIssues) }
        var issues: [FileIssue] = []
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ relative: String) -> String {
            relative.hasPrefix("/") ? relative : base.appendingPathComponent(relative).standardizedFileURL.path
        }

        var references: [String: ReferenceRegistry.Entry] = [:]
        for (name, entry) in value["references"]?.objectValue ?? [:] {
            let kind = entry["kind"]!.stringValue!
            var files: [String: String] = [:]
            for (key, v) in entry.objectValue! where !["kind", "description"].contains(key) { files[key] = v.stringValue! }
            for needed in ReferenceRegistry.requiredFiles[kind] ?? [] where files[needed] == nil {
                issues.append(FileIssue(document.location(of: JSONPointer(tokens: ["references", name])),
                                        "reference \"\(name)\" is a \(kind) and needs \"\(needed)\""))
            }
            references[name] = .init(name: name, kind: kind, description: entry["description"]?.stringValue, files: files)
        }

        var clusters: [String: ClusterConfig] = [:]
        for (name, entry) in value["clusters"]?.objectValue ?? [:] {
            clusters[name] = ClusterConfig(
                name: name,
                scheduler: ClusterConfig.Scheduler(rawValue: entry["scheduler"]!.stringValue!)!,
                mode: ClusterConfig.Mode(rawValue: entry["mode"]!.stringValue!)!,
                reconcileIntervalSeconds: entry["reconcile_interval_seconds"]!.numberValue!,
                submissionGraceSeconds: entry["submission_grace_seconds"]!.numberValue!,
                lostAfterSeconds: entry["lost_after_seconds"]!.numberValue!)
        }

        var groups: [String: ResearchGroup] = [:]
        for (name, entry) in value["research_groups"]?.objectValue ?? [:] {
            let cluster = entry["cluster"]!.stringValue!
            if clusters[cluster] == nil {
                issues.append(FileIssue(document.location(of: JSONPointer(tokens: ["research_groups", name, "cluster"])),
                                        "names cluster \"\(cluster)\", which is not under clusters\(EditDistance.hint(for: cluster, among: clusters.keys.sorted()))"))
            }
            var group = ResearchGroup(
                name: name,
                description: entry["description"]?.stringValue,
                cluster: cluster,
                account: entry["account"]!.stringValue!,
                partition: entry["partition"]?.stringValue,
                qos: entry["qos"]?.stringValue,
                runRoot: entry["run_root"]!.stringValue!,
                allowedPipelines: entry["allowed_pipelines"]!.arrayValue!.compactMap(\.stringValue))
            group.tokenHashes = entry["token_sha256"]?.arrayValue?.compactMap(\.stringValue) ?? []
            group.inputRoots = entry["input_roots"]?.arrayValue.map { InputRoots($0.compactMap(\.stringValue)) }
            if let quotas = entry["quotas"] {
                group.maxActiveJobs = Int(quotas["max_active_jobs"]?.numberValue ?? 100)
                group.submissionsPerMinute = Int(quotas["submissions_per_minute"]?.numberValue ?? 60)
            }
            groups[name] = group
        }
        let environment = ProcessInfo.processInfo.environment
        var adminHashes = value["admin_token_sha256"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if let fromEnvironment = environment["HPCBRIDGE_ADMIN_TOKEN_SHA256"] {
            adminHashes = fromEnvironment.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for hash in adminHashes where hash.count != 64 || !hash.allSatisfy(\.isHexDigit) || hash != hash.lowercased() {
                issues.append(FileIssue(SourceLocation(file: "$HPCBRIDGE_ADMIN_TOKEN_SHA256"),
                                        "holds a value that is not 64 lowercase hex digits (not shown: it may be a secret); put the output of `hpcbridge token hash` there, not a token"))
            }
        }
        let logFormat = environment["HPCBRIDGE_LOG_FORMAT"].flatMap(StructuredLogHandler.Format.init(rawValue:))
            ?? StructuredLogHandler.Format(rawValue: value["log"]?["format"]?.stringValue ?? "text") ?? .text
        let logLevel = environment["HPCBRIDGE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            ?? Logger.Level(rawValue: value["log"]?["level"]?.stringValue ?? "info") ?? .info
        // One token, one principal: a hash declared twice would make its owner ambiguous.
        var owners: [String: String] = [:]
        for hash in adminHashes { owners[hash] = "admin" }
        for (name, group) in groups.sorted(by: { $0.key < $1.key }) {
            for hash in group.tokenHashes {
                if let other = owners[hash] {
                    issues.append(FileIssue(document.location(of: JSONPointer(tokens: ["research_groups", name, "token_sha256"])),
                                            "declares a token hash that \(other == "admin" ? "admin_token_sha256" : "research group \"\(other)\"") also declares; give each group its own token"))
                }
                owners[hash] = name
            }
        }
        guard issues.isEmpty else { throw LoadError(issues.sorted { $0.description < $1.description }) }
        return BridgeConfig(
            path: path,
            document: document,
            listen: environment["HPCBRIDGE_LISTEN"] ?? value["listen"]!.stringValue!,
            storePath: resolve(environment["HPCBRIDGE_STORE"] ?? value["store"]!.stringValue!),
            catalogsDirectory: resolve(value["catalogs"]!.stringValue!),
            templatesDirectory: resolve(value["templates"]!.stringValue!),
            references: ReferenceRegistry(entries: references),
            clusters: clusters,
            groups: groups,
            adminTokenHashes: adminHashes,
            logFormat: logFormat,
            logLevel: logLevel,
            httpIdleTimeoutSeconds: value["http"]?["idle_timeout_seconds"]?.numberValue ?? 60,
            httpBodyTimeoutSeconds: value["http"]?["body_timeout_seconds"]?.numberValue ?? 30,
            publicURL: value["public_url"]?.stringValue.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
            wes: WESSettings(value["wes"]),
            webSessionSeconds: (value["web"]?["session_hours"]?.numberValue ?? 8) * 3600)
    }

    /// Where in the file a group is declared, for cross-checks that run after loading.
    public func location(ofGroup name: String) -> SourceLocation {
        document.location(of: JSONPointer(tokens: ["research_groups", name]))
    }
}
