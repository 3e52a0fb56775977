import AsyncHTTPClient
import Foundation

/// Slurm's own REST daemon as a contender: local authentication on a unix socket (the set-up that needs
/// no JWT key; Debian's Slurm 22.05 ships no auth/jwt plugin for slurmctld).
final class SlurmrestdProcess: @unchecked Sendable {
    static let apiVersion = "v0.0.38"
    let socketPath: String
    private let process: Process
    private var bridge: Process?

    private init(socketPath: String, process: Process) {
        self.socketPath = socketPath
        self.process = process
    }

    func url(_ path: String) -> String { HTTPLoad.unixSocketURL(socketPath, path) }

    /// Starts slurmrestd and waits until it answers `GET /slurm/v0.0.38/diag`. As root it refuses to run
    /// unless SLURMRESTD_SECURITY=disable_user_check is set; local authentication then takes the caller's
    /// uid from the socket.
    static func start(in directory: String, client: HTTPClient) async throws -> SlurmrestdProcess {
        let socketPath = directory + "/slurmrestd.sock"
        try? FileManager.default.removeItem(atPath: socketPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Shell.locate("slurmrestd"))
        process.arguments = ["-a", "rest_auth/local", "-s", "openapi/\(apiVersion)", "unix:\(socketPath)"]
        var environment = ProcessInfo.processInfo.environment
        environment["SLURMRESTD_SECURITY"] = "disable_user_check"
        process.environment = environment
        _ = FileManager.default.createFile(atPath: directory + "/slurmrestd.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/slurmrestd.log"))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let daemon = SlurmrestdProcess(socketPath: socketPath, process: process)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            guard process.isRunning else { throw BenchError("slurmrestd exited \(process.terminationStatus); see \(directory)/slurmrestd.log") }
            if FileManager.default.fileExists(atPath: socketPath),
               let response = try? await client.execute(HTTPClientRequest(url: daemon.url("/slurm/\(apiVersion)/diag")), timeout: .seconds(5)),
               response.status == .ok {
                _ = try? await response.body.collect(upTo: 1 << 20)
                return daemon
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        daemon.stop()
        throw BenchError("slurmrestd did not answer on \(socketPath) within 20 s; see \(directory)/slurmrestd.log")
    }

    /// wrk speaks TCP only: socat relays a loopback port to the unix socket (a process per connection,
    /// started when wrk connects, so its cost stays outside the measured requests but its relaying does
    /// not; BENCHMARKS.md compares with a direct run).
    func startTCPBridge() throws -> Int {
        let port = try FreePort.find()
        let socat = Process()
        socat.executableURL = URL(fileURLWithPath: try Shell.locate("socat"))
        socat.arguments = ["TCP-LISTEN:\(port),bind=127.0.0.1,reuseaddr,fork,backlog=256", "UNIX-CONNECT:\(socketPath)"]
        socat.standardOutput = FileHandle.nullDevice
        socat.standardError = FileHandle.nullDevice
        try socat.run()
        bridge = socat
        Thread.sleep(forTimeInterval: 0.3)
        return port
    }

    /// Stops socat's per-connection children, socat, then slurmrestd: SIGTERM, then SIGKILL after 5 s
    /// (slurmrestd 22.05 was seen here to ignore SIGTERM and SIGINT).
    func stop() {
        if let bridge { ChildProcess.children(of: bridge.processIdentifier).forEach { kill($0, SIGKILL) } }
        for child in [bridge, process].compactMap({ $0 }) {
            ChildProcess.stop(child.processIdentifier)
        }
    }
}

/// A loopback TCP port nobody listens on right now.
enum FreePort {
    static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw BenchError("bind() failed: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw BenchError("getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
