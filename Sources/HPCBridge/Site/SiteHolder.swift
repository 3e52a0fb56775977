import Synchronization

/// The site the service works with now. A reload (SIGHUP) swaps in a newly loaded site at once; each
/// request reads the site once and uses that snapshot throughout, so it never mixes old and new.
public final class SiteHolder: Sendable {
    private let state: Mutex<Site>
    /// Work derived from a site (the served contract), redone when the site is swapped, so a request
    /// never pays for it.
    private let observers = Mutex<[@Sendable (Site) -> Void]>([])

    public init(_ site: Site) {
        state = Mutex(site)
    }

    public var current: Site { state.withLock { $0 } }

    public func replace(with site: Site) {
        state.withLock { $0 = site }
        for observer in observers.withLock({ $0 }) { observer(site) }
    }

    /// Calls `observer` with the current site now and with every site swapped in later.
    public func observe(_ observer: @escaping @Sendable (Site) -> Void) {
        observers.withLock { $0.append(observer) }
        observer(current)
    }
}
