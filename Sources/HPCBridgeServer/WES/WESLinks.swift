import Foundation
import HPCBridge

/// Absolute URLs of this service, as WES gives them (log URLs a client fetches with the same token, the
/// task list): from the config's `public_url` behind a proxy, else from the request's own scheme and Host.
struct WESLinks: Sendable {
    /// Scheme and authority, and the path prefix of a `public_url`, without a trailing slash.
    let base: String

    func url(_ path: String) -> String { base + path }

    /// A GA4GH service id (a reverse domain name) for a host, when the config names none:
    /// `org.hpcbridge.<host>` with the host's labels reversed (`login1.hpc.example.org` gives
    /// `org.example.hpc.login1.hpcbridge`).
    static func reverseDomainID(host: String) -> String {
        let labels = host.lowercased().split(separator: ".").map { label in
            String(label.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
        }.filter { !$0.isEmpty }
        return labels.count > 1 ? (labels.reversed() + ["hpcbridge"]).joined(separator: ".") : "local.\(labels.first ?? "localhost").hpcbridge"
    }

    /// Where inputs may come from: local paths always, and the URI schemes the catalog's pipelines accept.
    static func filesystemProtocols(of catalog: PipelineCatalog) -> [String] {
        ["file"] + catalog.pipelines.values.reduce(into: Set<String>()) { $0.formUnion($1.uriSchemes) }.subtracting(["file"]).sorted()
    }
}

/// What a WES handler needs of its HTTP request that the generated input does not carry: the base of
/// absolute URLs, from its scheme and Host. Set by `WESErrorMiddleware`.
enum WESRequestContext {
    struct Values: Sendable {
        let base: String
    }

    @TaskLocal static var current: Values?
}
