/// Why the demo data could not be written. Each case says what to do about it: none of them goes away by
/// running again unchanged.
public enum DemoDataError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The config's reference registry has no entry of this name and kind to write the demo reference to.
    case missingReference(name: String, kind: String, config: String)
    /// No research group has an input root to put the reads under.
    case noInputRoots(config: String)
    /// Index builders the demo references need are not on PATH.
    case missingTools([String])
    /// An index builder failed.
    case toolFailed(command: String, detail: String)
    /// A file or directory could not be written.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingReference(let name, let kind, let config):
            return "\(config) has no reference \"\(name)\" of kind \(kind); add it under references (see config/hpcbridge.yaml in the repository) and to the pipelines' enums"
        case .noInputRoots(let config):
            return "no research group in \(config) has input_roots, so there is nowhere the groups' jobs may read demo reads from; give a group input_roots"
        case .missingTools(let tools):
            return "the demo indexes need \(tools.joined(separator: ", ")) on PATH, which \(tools.count == 1 ? "is" : "are") missing; install \(tools.count == 1 ? "it" : "them") (Debian: apt-get install \(tools.joined(separator: " "))), or run contrib/dev-cluster/up, which installs them unless HPCBRIDGE_DEV_TOOLS=0"
        case .toolFailed(let command, let detail):
            return "\(command) failed: \(detail)"
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason); demo-data writes where the config's registry and input roots say, which usually needs root"
        }
    }
}
