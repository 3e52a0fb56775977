import Foundation
import Synchronization

/// Values derived from store rows, kept in memory and forgotten exactly when their row changes: the
/// owner calls `invalidate` from the store's row observer (`JobStore.observeJobRows`), which every
/// commit that changes a job row calls.
///
/// A value loaded while a change was being committed could be older than that change; it is returned
/// to its caller but not kept (an epoch counts invalidations, and a load keeps its value only when no
/// invalidation came between its start and its end).
public final class ReadThroughCache<Value: Sendable>: Sendable {
    private struct State {
        var values: [UUID: Value] = [:]
        var epoch: UInt64 = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// The kept value, and the epoch to pass to `keep` for a value loaded now.
    public func lookup(_ id: UUID) -> (value: Value?, epoch: UInt64) {
        state.withLock { ($0.values[id], $0.epoch) }
    }

    /// Keeps a value loaded after `lookup` returned `epoch`, unless something was invalidated since.
    public func keep(_ value: Value, for id: UUID, ifUnchangedSince epoch: UInt64) {
        state.withLock { state in
            guard state.epoch == epoch else { return }
            // Full: start over rather than track use; a read costs one load to fill again.
            if state.values.count >= capacity { state.values.removeAll(keepingCapacity: true) }
            state.values[id] = value
        }
    }

    /// Forgets these ids' values (their rows changed).
    public func invalidate(_ ids: [UUID]) {
        state.withLock { state in
            state.epoch &+= 1
            for id in ids { state.values[id] = nil }
        }
    }

    public var count: Int { state.withLock { $0.values.count } }
}
