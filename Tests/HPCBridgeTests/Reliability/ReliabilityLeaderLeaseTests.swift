import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing
@testable import HPCBridge

/// The leader lease on a real PostgreSQL 15: two leases on one database, as two login nodes would hold
/// them. Sampled every 5 ms throughout, two leaders at once are never allowed. Timing scenarios, so they
/// run with the reliability suites, one test at a time (`make reliability`): in the parallel suite the
/// machine's two cores, shared with the dev cluster's jobs and PostgreSQL itself, delayed the database's
/// answers past the checks' deadlines.
@Suite("Reliability: leader lease on PostgreSQL", .enabled(if: LivePostgres.enabled), .serialized)
struct ReliabilityLeaderLeaseTests {
    /// One second: the checks' deadlines must hold while the rest of the suite loads the machine.
    static let check: Duration = .seconds(1)

    /// Two leases on keys of their own (tests run in parallel), each in a task, and a watcher that
    /// records whether both ever led at once.
    final class Pair: Sendable {
        /// Set by the watcher when both leases were leaders in one sample.
        final class Flag: Sendable {
            private let value = Mutex(false)
            func set() { value.withLock { $0 = true } }
            var isSet: Bool { value.withLock { $0 } }
        }

        let leases: [LeaderLease]
        let tasks: [Task<Void, Never>]
        let bothLed = Flag()
        let watcher: Task<Void, Never>

        init() throws {
            let configuration = try LivePostgres.configuration()
            let keys = (namespace: Int32.random(in: 1...Int32.max), purpose: Int32(1))
            let leases = (0..<2).map { _ in
                LeaderLease(configuration: configuration, settings: .init(keys: keys, checkInterval: ReliabilityLeaderLeaseTests.check, takeoverGrace: ReliabilityLeaderLeaseTests.check),
                            logger: Logger(label: "test.lease"))
            }
            self.leases = leases
            tasks = leases.map { lease in Task { try? await lease.run() } }
            let bothLed = self.bothLed
            // The watcher runs beside the leases, off the cooperative pool that other tests load.
            watcher = Task(executorPreference: LeaderLease.executor) {
                while !Task.isCancelled {
                    if leases.allSatisfy(\.isLeader) { bothLed.set() }
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
        }

        /// Waits up to `limit` for exactly one leader and returns its index.
        func leader(within limit: Duration, excluding excluded: Int? = nil) async -> Int? {
            await withTaskExecutorPreference(LeaderLease.executor) { await self.poll(within: limit, excluding: excluded) }
        }

        private func poll(within limit: Duration, excluding excluded: Int?) async -> Int? {
            let clock = ContinuousClock(), end = clock.now + limit
            while clock.now < end {
                let leading = leases.indices.filter { leases[$0].isLeader && $0 != excluded }
                if leading.count == 1, excluded == nil || !leases[excluded!].isLeader { return leading[0] }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return nil
        }

        func stop(_ index: Int) async {
            tasks[index].cancel()
            await tasks[index].value
        }

        func stopAll() async {
            for index in leases.indices { await stop(index) }
            watcher.cancel()
        }
    }

    @Test("of two nodes exactly one leads, and goes on leading")
    func oneLeader() async throws {
        let pair = try Pair()
        let first = await pair.leader(within: .seconds(15))
        #expect(first != nil, "no node took the lease: \(pair.leases.map(\.role))")
        try await Task.sleep(for: .seconds(3))
        #expect(await pair.leader(within: .milliseconds(100)) == first, "the lease moved without a reason")
        await pair.stopAll()
        #expect(!pair.bothLed.isSet, "two nodes led at once")
    }

    @Test("the leader's database session is terminated: it steps down and the other takes over within two check intervals")
    func terminated() async throws {
        let pair = try Pair()
        let leader = try #require(await pair.leader(within: .seconds(15)))
        let pid = try #require(pair.leases[leader].backendPID)
        let killedAt = ContinuousClock.now
        _ = try await LivePostgres.query("SELECT pg_terminate_backend(\(pid))::text")
        let next = await pair.leader(within: .seconds(15), excluding: leader)
        let took = ContinuousClock.now - killedAt
        #expect(next == 1 - leader, "the other node did not take over")
        // Two check intervals and a connection, with room for a loaded machine.
        #expect(took < Self.check * 2 + .seconds(3), "takeover took \(took)")
        #expect(!pair.leases[leader].isLeader)
        if case .follower(let reason) = pair.leases[leader].role { #expect(!reason.isEmpty) }
        await pair.stopAll()
        #expect(!pair.bothLed.isSet, "two nodes led at once")
        print("leader lease: takeover after a terminated session took \(took)")
    }

    @Test("the leader's session hangs (its backend stopped): it steps down, nobody leads while the lock is held, the other leads once it is freed")
    func hungSession() async throws {
        let pair = try Pair()
        let leader = try #require(await pair.leader(within: .seconds(15)))
        let pid = try #require(pair.leases[leader].backendPID)
        #expect(kill(pid_t(pid), SIGSTOP) == 0)
        // The leader's check gets no answer within its deadline: it stops leading.
        let clock = ContinuousClock(), stoppedAt = clock.now
        while pair.leases[leader].isLeader, clock.now - stoppedAt < .seconds(15) { try await Task.sleep(for: .milliseconds(10)) }
        let steppedDown = clock.now - stoppedAt
        #expect(!pair.leases[leader].isLeader)
        #expect(steppedDown < Self.check * 2 + .seconds(2), "stepping down took \(steppedDown)")
        // The stopped backend still holds the lock: the other node must not lead meanwhile.
        try await Task.sleep(for: .seconds(3))
        #expect(!pair.leases[1 - leader].isLeader, "the other node led while the lock was still held")
        #expect(kill(pid_t(pid), SIGCONT) == 0)
        // The old leader closed its session on stepping down; once the backend runs again it ends and frees the lock.
        #expect(await pair.leader(within: .seconds(20)) != nil, "no node leads after the session was freed")
        await pair.stopAll()
        #expect(!pair.bothLed.isSet, "two nodes led at once")
        print("leader lease: a hung session stepped down after \(steppedDown)")
    }

    @Test("a leader that stops (SIGTERM of the service) releases the lease; the other leads within two check intervals")
    func gracefulStop() async throws {
        let pair = try Pair()
        let leader = try #require(await pair.leader(within: .seconds(15)))
        let stoppedAt = ContinuousClock.now
        await pair.stop(leader)
        #expect(pair.leases[leader].role == .follower(reason: "stopped"))
        #expect(await pair.leader(within: .seconds(15)) == 1 - leader)
        let took = ContinuousClock.now - stoppedAt
        #expect(took < Self.check * 2 + .seconds(3), "takeover took \(took)")
        await pair.stopAll()
        #expect(!pair.bothLed.isSet, "two nodes led at once")
    }
}
