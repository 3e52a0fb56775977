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
        warnings += inputRootWarnings(config: config, catalog: catalog)
        return (errors, warnings)
    }

    /// Where one research group could read another's data: a group without `input_roots` that runs a
    /// pipeline taking paths, and an input root that holds another group's run root or, wider than it,
    /// another group's input root. Warnings, not errors: a site may share on purpose.
    static func inputRootWarnings(config: BridgeConfig, catalog: PipelineCatalog) -> [FileIssue] {
        var warnings: [FileIssue] = []
        let groups = config.groups.values.sorted { $0.name < $1.name }
        for group in groups {
            let location = config.location(ofGroup: group.name)
            guard let roots = group.inputRoots else {
                let takingPaths = group.allowedPipelines.filter { name in
                    catalog.pipelines[name]?.parameters.allNodes.contains { $0.format?.isPath == true } ?? false
                }
                if !takingPaths.isEmpty {
                    warnings.append(FileIssue(location, "research group \(group.name) has no input_roots, so its jobs (\(takingPaths.joined(separator: ", "))) may read any file the service user can read, other groups' data included; list the directories it may read under input_roots"))
                }
                continue
            }
            for root in roots.paths {
                for other in groups where other.name != group.name {
                    if InputRoots.isAncestor(root, of: other.runRoot) {
                        warnings.append(FileIssue(location, "input root \(root) of research group \(group.name) holds the run root of research group \(other.name) (\(other.runRoot)): its jobs can read that group's results"))
                    }
                    for otherRoot in other.inputRoots?.paths ?? [] where otherRoot != root && InputRoots.isAncestor(root, of: otherRoot) {
                        warnings.append(FileIssue(location, "input root \(root) of research group \(group.name) holds input root \(otherRoot) of research group \(other.name): its jobs can read that group's inputs"))
                    }
                }
            }
        }
        return warnings
    }
}
