import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// What a batch of HTTP requests did.
struct LoadOutcome: Sendable {
    /// Wall time from the first request sent to the last response read.
    var seconds: Double = 0
    /// CPU this process (the load generator) used over the same span, user and system.
    var clientCPUSeconds: Double = 0
    var latenciesMS: [Double] = []
    var statuses: [Int: Int] = [:]
    var failures: [String] = []
    /// Response bodies by request index, when asked for.
    var bodies: [Int: String] = [:]

    var completed: Int { latenciesMS.count }
    var perSecond: Double { seconds > 0 ? Double(completed) / seconds : 0 }

    mutating func merge(_ other: LoadOutcome) {
        latenciesMS += other.latenciesMS
        statuses.merge(other.statuses, uniquingKeysWith: +)
        failures += other.failures
        bodies.merge(other.bodies) { first, _ in first }
    }

    /// Requests that did not answer with one of the expected statuses, or did not answer at all.
    func errors(expecting expected: Set<Int>) -> Int {
        failures.count + statuses.filter { !expected.contains($0.key) }.values.reduce(0, +)
    }
}

/// A closed-loop load generator: `concurrency` workers, each sending its next request as soon as the
/// previous answer is read, over keep-alive connections (one per worker).
enum HTTPLoad {
    static func client(connections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(300), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(120))
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The URL of a path on a server listening on a unix socket (slurmrestd with local authentication).
    static func unixSocketURL(_ socketPath: String, _ path: String) -> String {
        "http+unix://" + socketPath.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! + path
    }

    /// Sends up to `count` requests, stopping early at `deadline` when one is given.
    static func run(client: HTTPClient, count: Int, concurrency: Int, keepBodies: Bool = false, until deadline: ContinuousClock.Instant? = nil,
                    request: @escaping @Sendable (Int) -> HTTPClientRequest) async -> LoadOutcome {
        let next = RequestCounter()
        let clock = ContinuousClock()
        let cpuBefore = processCPUSeconds()
        let start = clock.now
        var outcome = await withTaskGroup(of: LoadOutcome.self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    var mine = LoadOutcome()
                    while let index = next.take(below: count) {
                        if let deadline, clock.now >= deadline { break }
                        let sent = clock.now
                        do {
                            let response = try await client.execute(request(index), timeout: .seconds(120))
                            let body = try await response.body.collect(upTo: 64 << 20)
                            mine.latenciesMS.append((clock.now - sent).milliseconds)
                            mine.statuses[Int(response.status.code), default: 0] += 1
                            if keepBodies { mine.bodies[index] = String(buffer: body) }
                        } catch {
                            mine.failures.append("\(error)")
                        }
                    }
                    return mine
                }
            }
            var all = LoadOutcome()
            for await part in group { all.merge(part) }
            return all
        }
        outcome.seconds = (clock.now - start).milliseconds / 1000
        outcome.clientCPUSeconds = processCPUSeconds() - cpuBefore
        return outcome
    }
}

/// User and system CPU seconds this process has used so far (getrusage).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Hands out request indexes to the workers.
final class RequestCounter: Sendable {
    private let value = Mutex(0)

    func take(below limit: Int) -> Int? {
        value.withLock { next in
            guard next < limit else { return nil }
            defer { next += 1 }
            return next
        }
    }
}
