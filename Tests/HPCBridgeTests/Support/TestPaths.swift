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

    /// Writes text to a file, creating parent directories.
    static func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
