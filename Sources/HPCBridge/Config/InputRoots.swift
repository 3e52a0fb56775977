import Foundation

/// The directories a research group's jobs may read inputs from (`input_roots` in the config). Every
/// parameter value that a path format accepted must lie under one of them, so that a group cannot name
/// another group's data: the jobs of every group run as the service's Slurm user, which can read all of it.
///
/// The check is by whole path segments (`/data/lab` does not contain `/data/lab_b`), first as written and
/// then, for the part of the path that exists on this host, with symbolic links resolved, so a link inside
/// a root that points out of it is refused too. What it cannot see: a link created after the submission,
/// or a path that exists only on compute nodes. The hard boundary is Unix permissions; see docs/admins.md.
public struct InputRoots: Sendable, Hashable {
    /// The roots as configured: absolute, normalised (checked at load time), without a trailing slash.
    public let paths: [String]

    public init(_ paths: [String]) {
        self.paths = paths.map { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    /// Resolves symbolic links on this host; a seam so tests can describe a file system.
    public typealias Resolver = @Sendable (String) -> String

    /// Why `path` may not be read by the group's jobs, or `nil` when it may.
    public func problem(with path: String, resolving resolve: Resolver = InputRoots.resolveExistingPrefix) -> String? {
        let listed = paths.joined(separator: ", ")
        guard contains(path, among: paths) else {
            return "is outside this research group's input roots (\(listed)); name a file under one of them, or ask the site admins to add a root"
        }
        let resolved = resolve(path)
        guard resolved == path || contains(resolved, among: paths + paths.map(resolve)) else {
            return "leads through a symbolic link to \(resolved), which is outside this research group's input roots (\(listed))"
        }
        return nil
    }

    /// Whether `root` is `path` or one of its ancestor directories, by whole segments.
    public static func isAncestor(_ root: String, of path: String) -> Bool {
        if root == "/" { return path.hasPrefix("/") }
        guard path.hasPrefix(root) else { return false }
        let rest = path.dropFirst(root.count)
        return rest.isEmpty || rest.hasPrefix("/")
    }

    private func contains(_ path: String, among roots: [String]) -> Bool {
        roots.contains { Self.isAncestor($0, of: path) }
    }

    /// `path` with every symbolic link in its longest existing prefix resolved (`realpath(3)`), and the
    /// part that does not exist on this host appended as written.
    public static let resolveExistingPrefix: Resolver = { path in
        var existing = path
        var missing: [Substring] = []
        while existing != "/" {
            if let real = realpath(existing, nil) {
                defer { free(real) }
                let base = String(cString: real)
                return missing.isEmpty ? base : (base == "/" ? "" : base) + "/" + missing.reversed().joined(separator: "/")
            }
            let slash = existing.lastIndex(of: "/")!
            missing.append(existing[existing.index(after: slash)...])
            existing = slash == existing.startIndex ? "/" : String(existing[..<slash])
        }
        return "/" + missing.reversed().joined(separator: "/")
    }
}
