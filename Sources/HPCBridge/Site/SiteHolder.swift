import Synchronization

/// The site the service works with now. A reload (SIGHUP) swaps in a newly loaded site at once; each
/// request reads the site once and uses that snapshot throughout, so it never mixes old and new.
public final class SiteHolder: Sendable {
    private let state: Mutex<Site>

    public init(_ site: Site) {
        state = Mutex(site)
    }

    public var current: Site { state.withLock { $0 } }

    public func replace(with site: Site) {
        state.withLock { $0 = site }
    }
}
