import Foundation
import Mustache

/// The web pages' templates and static files, shipped beside the binary in its resource bundle
/// (`UI/Resources`): Mustache templates whose `{{name}}` escapes HTML, and one stylesheet and one script
/// served from `/ui/static/`. Loaded once at start-up; a missing bundle is an error then, not a blank page
/// later (an install that copies only the binary must copy `hpcbridge_HPCBridgeServer.resources` too).
struct WebAssets: Sendable {
    let library: MustacheLibrary
    /// Static files by name, with their media type.
    let files: [String: (type: String, bytes: [UInt8])]

    struct Missing: Error, CustomStringConvertible {
        let what: String
        var description: String {
            "the web pages' \(what) are missing from the resource bundle hpcbridge_HPCBridgeServer.resources; install it beside the hpcbridge binary (docs/admins.md)"
        }
    }

    static func load() throws -> WebAssets {
        let root = Bundle.module.url(forResource: "Resources", withExtension: nil) ?? Bundle.module.bundleURL.appendingPathComponent("Resources")
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("templates/layout.mustache").path) else {
            throw Missing(what: "templates")
        }
        var templates: [String: MustacheTemplate] = [:]
        let templateDirectory = root.appendingPathComponent("templates")
        for name in try FileManager.default.contentsOfDirectory(atPath: templateDirectory.path).sorted() where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: templateDirectory.appendingPathComponent(name), encoding: .utf8)
            templates[String(name.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
        }
        var files: [String: (type: String, bytes: [UInt8])] = [:]
        let types = ["css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"]
        let staticDirectory = root.appendingPathComponent("static")
        for name in try FileManager.default.contentsOfDirectory(atPath: staticDirectory.path) {
            guard let type = types[(name as NSString).pathExtension] else { continue }
            files[name] = (type, Array(try Data(contentsOf: staticDirectory.appendingPathComponent(name))))
        }
        guard !files.isEmpty else { throw Missing(what: "static files") }
        return WebAssets(library: MustacheLibrary(templates: templates), files: files)
    }

    /// A page: the named template with `context` (dictionaries and arrays of them).
    func render(_ template: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: template) ?? "<!doctype html><title>hpcbridge</title><p>The page template \(template) is missing.</p>"
    }
}
