import Foundation

/// Paths of the repository and scratch space for tests.
enum TestPaths {
    /// The package root, found from this file's location.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var config: String { root + "/config/hpcbridge.yaml" }
    static var catalog: String { root + "/config/pipelines" }
    static var examples: String { root + "/config/examples" }
    static var fixtures: String { root + "/Tests/HPCBridgeTests/Fixtures" }

    /// A new empty directory under the system's temporary directory.
    static func scratchDirectory(_ label: String = "hpcbridge-test") throws -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The shipped config (config/hpcbridge.yaml) as tests load it: catalogs and templates from this
    /// checkout. With `scratch`, the site's own paths move under that directory (run directories,
    /// references, the store), and `extraInputRoot`, if given, is admitted for every group beside the
    /// shipped /data/<group>. Tests edit the text further for what they are about (quotas, ports).
    static func shippedConfig(scratch: String? = nil, extraInputRoot: String? = nil) throws -> String {
        var config = try String(contentsOfFile: Self.config, encoding: .utf8)
            .replacingOccurrences(of: "catalogs: pipelines", with: "catalogs: \(catalog)")
            .replacingOccurrences(of: "templates: ../templates", with: "templates: \(root)/templates")
        if let scratch {
            config = config.replacingOccurrences(of: "/srv/references", with: scratch + "/ref")
                .replacingOccurrences(of: "/var/lib/hpcbridge/runs", with: scratch + "/runs")
                .replacingOccurrences(of: "store: ../var/hpcbridge.sqlite", with: "store: \(scratch)/store.sqlite")
        }
        if let extraInputRoot {
            config = config.replacingOccurrences(of: "input_roots: [", with: "input_roots: [\(extraInputRoot), ")
        }
        return config
    }

    /// Copies every shipped catalog file into `directory` (tests that edit one of them), returning the
    /// copied files' paths by pipeline name.
    @discardableResult
    static func copyCatalogs(to directory: String) throws -> [String: String] {
        var copied: [String: String] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: catalog) where file.hasSuffix(".yaml") {
            let target = directory + "/" + file
            try write(try String(contentsOfFile: catalog + "/" + file, encoding: .utf8), to: target)
            copied[String(file.dropLast(".yaml".count))] = target
        }
        return copied
    }

    /// Writes text to a file, creating parent directories.
    static func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
