import Foundation

/// Checks that need config and catalog together: reference enums against the registry, groups against
/// the pipelines they may run.
enum SiteChecks {
    static func run(config: BridgeConfig, catalog: PipelineCatalog) -> (errors: [FileIssue], warnings: [FileIssue]) {
        var errors: [FileIssue] = []
        var warnings: [FileIssue] = []
        let registry = config.references
        var offered: Set<String> = []

        for pipeline in catalog.sorted {
            for (name, kind, node) in pipeline.referenceParameters {
                let location = pipeline.source.location(of: JSONPointer(tokens: ["parameters"] + node.location.tokens + ["x-reference"]))
                guard ReferenceRegistry.requiredFiles[kind] != nil else {
                    errors.append(FileIssue(location, "x-reference \"\(kind)\" is not a registry kind; use \(ReferenceRegistry.requiredFiles.keys.sorted().joined(separator: " or "))"))
                    continue
                }
                guard let options = node.enumValues?.compactMap(\.stringValue) else {
                    errors.append(FileIssue(location, "parameter \(name) names a \(kind) but has no enum; list the registry names it may take (\(registry.names(ofKind: kind).joined(separator: ", ")))"))
                    continue
                }
                for option in options {
                    offered.insert(option)
                    guard let entry = registry.entries[option] else {
                        errors.append(FileIssue(location, "parameter \(name) offers \(kind) \"\(option)\", which the reference registry in \(config.path) does not have\(EditDistance.hint(for: option, among: registry.names(ofKind: kind))); add it under references or remove it from the enum"))
                        continue
                    }
                    if entry.kind != kind {
                        errors.append(FileIssue(location, "parameter \(name) offers \"\(option)\" as a \(kind), but the registry lists it as a \(entry.kind)"))
                    }
                }
            }
        }
        for name in config.references.entries.keys.sorted() where !offered.contains(name) {
            warnings.append(FileIssue(SourceLocation(file: config.path), "reference \"\(name)\" is in the registry but no pipeline offers it"))
        }
        for entry in config.references.entries.values.sorted(by: { $0.name < $1.name }) {
            let missing = entry.files.keys.sorted().filter { key in
                let path = entry.files[key]!
                // A BWA index is a prefix: its files are PREFIX.bwt, PREFIX.pac, ...
                return !FileManager.default.fileExists(atPath: key == "bwa_index" ? path + ".bwt" : path)
            }
            guard !missing.isEmpty else { continue }
            let location = config.document.location(of: JSONPointer(tokens: ["references", entry.name]))
            warnings.append(FileIssue(location, "reference \(entry.name): \(missing.joined(separator: ", ")) not found on this host; jobs using it fail until the files exist"))
        }
        for group in config.groups.values.sorted(by: { $0.name < $1.name }) {
            for pipeline in group.allowedPipelines where catalog.pipelines[pipeline] == nil {
                errors.append(FileIssue(config.location(ofGroup: group.name),
                                        "research group \(group.name) allows pipeline \"\(pipeline)\", which is not in the catalog\(EditDistance.hint(for: pipeline, among: catalog.pipelines.keys.sorted()))"))
            }
        }
        return (errors, warnings)
    }
}
