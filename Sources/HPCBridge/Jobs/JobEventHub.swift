import Foundation
import ServiceLifecycle
import Synchronization

/// Fans committed job changes out to live subscribers (the `/v1/events` streams), each filtered to
/// what its caller may see. A `Service`: on graceful shutdown it ends every stream, so open event
/// connections close cleanly and the HTTP server can drain.
public final class JobEventHub: Service, Sendable {
    /// Which changes a subscriber receives.
    public struct Filter: Sendable {
        /// nil for admins (every group).
        public var group: String?
        public var jobID: UUID?
        /// Only the steps of this run (whichever attempt of a step: a resume replaces its job).
        public var runID: UUID?
        public init(group: String? = nil, jobID: UUID? = nil, runID: UUID? = nil) {
            self.group = group
            self.jobID = jobID
            self.runID = runID
        }

        func matches(_ event: JobStore.Event.Summary) -> Bool {
            (group == nil || group == event.group) && (jobID == nil || jobID == event.transition.jobID)
                && (runID == nil || runID == event.step?.runID)
        }
    }

    private struct State {
        var subscribers: [UUID: (Filter, AsyncStream<JobStore.Event.Summary>.Continuation)] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    public init() {}

    /// A stream of matching changes from now on; it ends when the hub shuts down.
    public func subscribe(_ filter: Filter) -> AsyncStream<JobStore.Event.Summary> {
        let (stream, continuation) = AsyncStream.makeStream(of: JobStore.Event.Summary.self, bufferingPolicy: .bufferingNewest(10_000))
        let id = UUID()
        let accepted = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.subscribers[id] = (filter, continuation)
            return true
        }
        if !accepted { continuation.finish() }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Delivers committed changes (called by the store after each commit).
    public func publish(_ events: [JobStore.Event]) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for event in events.map(\.summary) {
            for (filter, continuation) in subscribers where filter.matches(event) {
                continuation.yield(event)
            }
        }
    }

    /// How many streams are open (for tests and metrics).
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Waits for graceful shutdown, then ends every stream.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }

    /// Ends every stream and refuses new ones.
    public func close() {
        let open = state.withLock { state -> [AsyncStream<JobStore.Event.Summary>.Continuation] in
            state.closed = true
            defer { state.subscribers = [:] }
            return state.subscribers.values.map(\.1)
        }
        for continuation in open { continuation.finish() }
    }
}
