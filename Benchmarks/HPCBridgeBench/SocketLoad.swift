import Foundation

/// A closed-loop HTTP/1.1 load generator on plain sockets, for the submission benchmark's HTTP contenders:
/// `concurrency` threads, each with one keep-alive connection (TCP or a unix socket), sending one fixed
/// request as soon as the previous answer is read, until `count` requests have been sent.
///
/// Why not AsyncHTTPClient (`HTTPLoad`): on a machine of two cores the load generator's CPU is taken from
/// the contender it drives, and AsyncHTTPClient's cost per request was of the order of the service's
/// own (see BENCHMARKS.md). wrk costs 0.05 ms a request but cannot stop after a number of requests (the
/// trials compare equal numbers of jobs, since the controller slows with the jobs it holds) nor speak to
/// slurmrestd's unix socket. This does what wrk does for one fixed request, and no more: it reads the
/// status line and `Content-Length` or a chunked body, and nothing else of the answer.
enum SocketLoad {
    enum Endpoint: Sendable {
        case tcp(host: String, port: UInt16)
        case unix(path: String)
    }

    /// Sends `count` copies of `request` (the whole request, head and body) over `concurrency` connections.
    static func run(_ endpoint: Endpoint, request: [UInt8], count: Int, concurrency: Int) async -> LoadOutcome {
        let next = RequestCounter()
        let clock = ContinuousClock()
        let cpuBefore = processCPUSeconds()
        let start = clock.now
        let parts: [LoadOutcome] = await withTaskGroup(of: LoadOutcome.self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    // A thread of its own per connection: the calls block, and must not hold the cooperative pool.
                    await withCheckedContinuation { continuation in
                        Thread.detachNewThread {
                            continuation.resume(returning: worker(endpoint, request: request, count: count, next: next))
                        }
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        var outcome = LoadOutcome()
        for part in parts { outcome.merge(part) }
        outcome.seconds = (clock.now - start).milliseconds / 1000
        outcome.clientCPUSeconds = processCPUSeconds() - cpuBefore
        return outcome
    }

    /// One connection's loop; a connection that fails is opened again for the next request.
    private static func worker(_ endpoint: Endpoint, request: [UInt8], count: Int, next: RequestCounter) -> LoadOutcome {
        var outcome = LoadOutcome()
        var connection: Connection?
        let clock = ContinuousClock()
        while next.take(below: count) != nil {
            let sent = clock.now
            do {
                if connection == nil { connection = try Connection(endpoint) }
                let status = try connection!.exchange(request)
                outcome.latenciesMS.append((clock.now - sent).milliseconds)
                outcome.statuses[status, default: 0] += 1
            } catch {
                outcome.failures.append("\(error)")
                connection = nil
            }
        }
        return outcome
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// One keep-alive connection and its read buffer.
    final class Connection {
        private let fd: Int32
        private var buffer: [UInt8] = []
        private var scratch = [UInt8](repeating: 0, count: 64 << 10)

        init(_ endpoint: Endpoint) throws {
            switch endpoint {
            case .tcp(let host, let port):
                fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard fd >= 0 else { throw Failure("socket: errno \(errno)") }
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                inet_pton(AF_INET, host, &address.sin_addr)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard connected == 0 else { close(fd); throw Failure("connect to \(host):\(port): errno \(errno)") }
            case .unix(let path):
                fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
                guard fd >= 0 else { throw Failure("socket: errno \(errno)") }
                var address = sockaddr_un()
                address.sun_family = sa_family_t(AF_UNIX)
                let bytes = Array(path.utf8)
                guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { close(fd); throw Failure("socket path too long: \(path)") }
                withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
                guard connected == 0 else { close(fd); throw Failure("connect to \(path): errno \(errno)") }
            }
        }

        deinit { close(fd) }

        /// Sends the request and reads its whole answer; returns the status code.
        func exchange(_ request: [UInt8]) throws -> Int {
            var sent = 0
            while sent < request.count {
                let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { throw Failure("send: errno \(errno)") }
                sent += n
            }
            let headEnd = try readUntil { Self.find([13, 10, 13, 10], in: $0) }
            let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
            buffer.removeFirst(headEnd + 4)
            let lines = head.split(separator: "\r\n")
            guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."), let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
                throw Failure("not an HTTP answer: \(head.prefix(80))")
            }
            var length: Int?
            var chunked = false
            for line in lines.dropFirst() {
                let field = line.split(separator: ":", maxSplits: 1)
                guard field.count == 2 else { continue }
                let name = field[0].lowercased(), value = field[1].trimmingCharacters(in: .whitespaces)
                if name == "content-length" { length = Int(value) }
                if name == "transfer-encoding", value.lowercased().contains("chunked") { chunked = true }
            }
            if chunked {
                while true {
                    let lineEnd = try readUntil { Self.find([13, 10], in: $0) }
                    let sizeText = String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                    guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw Failure("bad chunk size \(sizeText)") }
                    buffer.removeFirst(lineEnd + 2)
                    _ = try readUntil { $0.count >= size + 2 ? size : nil }
                    buffer.removeFirst(size + 2)
                    if size == 0 { break }
                }
            } else {
                let bodyLength = length ?? 0
                _ = try readUntil { $0.count >= bodyLength ? bodyLength : nil }
                buffer.removeFirst(bodyLength)
            }
            return status
        }

        /// Reads until `done` finds what it looks for in the buffer, and returns what it found.
        private func readUntil(_ done: ([UInt8]) -> Int?) throws -> Int {
            while true {
                if let found = done(buffer) { return found }
                let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { throw Failure(n == 0 ? "the server closed the connection" : "recv: errno \(errno)") }
                buffer.append(contentsOf: scratch[..<n])
            }
        }

        static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
            guard haystack.count >= needle.count else { return nil }
            for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
                if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
            }
            return nil
        }
    }

    /// A request's bytes: head with Host, Content-Length and `headers`, then the body.
    static func request(method: String, path: String, host: String, headers: [(String, String)], body: String) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.utf8.count)\r\n\r\n"
        return Array(head.utf8) + Array(body.utf8)
    }
}
