import CSlurmShim

/// Whether libslurm can be used on this host, and why not when it cannot (see `CSlurmShim`).
public struct SlurmLibraryStatus: Sendable, Hashable {
    public let usable: Bool
    public let builtWithHeaders: Bool
    /// `22.05.8`-style versions; `nil` when unknown.
    public let headerVersion: String?
    public let libraryVersion: String?
    public let library: String
    /// Empty when usable.
    public let reason: String

    /// Probes once per process (the shim caches the result); cheap to call again.
    public static func probe() -> SlurmLibraryStatus {
        var status = hb_slurm_status()
        hb_slurm_probe(&status)
        func version(_ number: Int) -> String? {
            guard number != 0 else { return nil }
            var buffer = [CChar](repeating: 0, count: 32)
            hb_slurm_version_string(number, &buffer, buffer.count)
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        func text<T>(_ tuple: T) -> String {
            withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return SlurmLibraryStatus(
            usable: status.usable != 0, builtWithHeaders: status.built_with_headers != 0,
            headerVersion: version(status.header_api_version), libraryVersion: version(status.library_api_version),
            library: text(status.library), reason: text(status.reason))
    }
}
