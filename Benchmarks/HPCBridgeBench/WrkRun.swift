import Foundation

/// One run of wrk (Debian's package) and what its `--latency` report says.
struct WrkRun: Codable, Sendable {
    var requestsPerSecond: Double
    var latencyP50MS: Double
    var latencyP99MS: Double
    var requests: Int
    /// Responses outside 2xx/3xx plus socket errors (connect, read, write, timeout).
    var errors: Int

    /// Runs wrk against `url`; `paths`, when given, are requested in turn through a generated Lua script.
    static func run(url: String, paths: [String], headers: [String], threads: Int, connections: Int, seconds: Int, scriptDirectory: String) async throws -> WrkRun {
        var arguments = ["-t", String(threads), "-c", String(connections), "-d", "\(seconds)s", "--latency", "--timeout", "10s"]
        for header in headers { arguments += ["-H", header] }
        if !paths.isEmpty {
            let script = scriptDirectory + "/paths-\(UUID().uuidString.prefix(8)).lua"
            try luaScript(paths).write(toFile: script, atomically: true, encoding: .utf8)
            arguments += ["-s", script]
        }
        let output = try await Shell.checked("wrk", arguments + [url])
        guard let run = parse(output) else { throw BenchError("could not read wrk's report:\n\(output)") }
        return run
    }

    /// Each wrk thread walks the list from its own starting point.
    static func luaScript(_ paths: [String]) -> String {
        let list = paths.map { "\"\($0)\"" }.joined(separator: ",\n")
        return """
        local paths = {
        \(list)
        }
        local next_index = 1
        setup = function(thread) thread:set("offset", math.random(#paths)) end
        init = function(args) next_index = offset or 1 end
        request = function()
          local path = paths[next_index]
          next_index = next_index % #paths + 1
          return wrk.format("GET", path)
        end

        """
    }

    static func parse(_ text: String) -> WrkRun? {
        var percentiles: [String: Double] = [:]
        var perSecond: Double?
        var requests = 0
        var errors = 0
        var inDistribution = false
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if line.hasPrefix("Latency Distribution") { inDistribution = true; continue }
            if inDistribution, fields.count == 2, fields[0].hasSuffix("%") {
                percentiles[fields[0]] = milliseconds(fields[1])
                continue
            }
            inDistribution = false
            if line.hasPrefix("Requests/sec:"), let value = fields.last.flatMap(Double.init) { perSecond = value }
            if fields.count > 3, fields[1] == "requests", fields[2] == "in", let count = Int(fields[0]) { requests = count }
            if line.hasPrefix("Non-2xx or 3xx responses:"), let count = fields.last.flatMap(Int.init) { errors += count }
            if line.hasPrefix("Socket errors:") {
                errors += fields.compactMap { Int($0.trimmingCharacters(in: CharacterSet(charactersIn: ","))) }.reduce(0, +)
            }
        }
        guard let perSecond, let p50 = percentiles["50%"], let p99 = percentiles["99%"] else { return nil }
        return WrkRun(requestsPerSecond: perSecond, latencyP50MS: p50, latencyP99MS: p99, requests: requests, errors: errors)
    }

    /// "812.00us", "4.21ms", "1.02s", "1.50m" in milliseconds.
    static func milliseconds(_ text: String) -> Double? {
        for (suffix, factor) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)] where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * factor }
        }
        return nil
    }
}
