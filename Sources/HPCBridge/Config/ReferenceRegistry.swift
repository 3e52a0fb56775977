/// The site's reference data: genome and transcriptome names mapped to files on the cluster.
///
/// A request names a reference (`hg38`, `gencode_v38`), never a path to one: the core facility decides
/// which FASTA and indexes a name means, so results are comparable across groups and a request cannot
/// point a pipeline at arbitrary files.
public struct ReferenceRegistry: Sendable {
    /// One named reference and its files (absolute paths; optional ones depend on the kind).
    public struct Entry: Sendable, Hashable {
        public let name: String
        public let kind: String
        public let description: String?
        public let files: [String: String]

        /// What a template sees under `ref.<parameter>`: the name, kind and each file.
        var renderContext: TemplateValue {
            var context: [String: TemplateValue] = ["name": .string(name), "kind": .string(kind)]
            for (key, path) in files { context[key] = .string(path) }
            return .object(context)
        }
    }

    /// Which files each kind must have: without them no pipeline could use the reference.
    public static let requiredFiles: [String: [String]] = [
        "genome": ["fasta"],
        "transcriptome": ["fasta", "salmon_index"],
    ]

    public let entries: [String: Entry]

    public init(entries: [String: Entry]) { self.entries = entries }

    /// The names of one kind, sorted.
    public func names(ofKind kind: String) -> [String] {
        entries.values.filter { $0.kind == kind }.map(\.name).sorted()
    }
}
