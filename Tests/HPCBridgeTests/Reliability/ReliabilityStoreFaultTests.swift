import Crypto
import Foundation
import Testing
@testable import HPCBridge

/// Issue 7, part 4: the job store's disk fills up, turns read-only, or holds a damaged file at start-up.
/// Writes are refused with 503 and Retry-After (never a 500, never a 201 for something not stored), the
/// service stays up and recovers when the fault is gone, and it refuses to start on a damaged file,
/// leaving the file as it was, with an exit status systemd does not restart on.
@Suite("Reliability: store faults", .enabled(if: LiveCluster.enabled), .serialized)
struct ReliabilityStoreFaultTests {
    /// A small tmpfs for the store, so "full" and "read-only" are real file-system states.
    final class SmallFileSystem {
        let path: String
        init(under root: String, megabytes: Int) throws {
            path = root + "/storefs"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let mounted = try runBlocking("/usr/bin/env", ["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
            guard mounted.status == 0 else { throw SchedulerError(.unavailable, operation: "mount", detail: "mounting a tmpfs needs root: \(mounted.stderr)") }
        }
        func remount(readOnly: Bool) throws {
            let result = try runBlocking("/usr/bin/env", ["mount", "-o", "remount,\(readOnly ? "ro" : "rw")", path])
            guard result.status == 0 else { throw SchedulerError(.unavailable, operation: "remount", detail: result.stderr) }
        }
        deinit { _ = try? runBlocking("/usr/bin/env", ["umount", "-l", path]) }
    }

    func service(_ label: String, megabytes: Int) throws -> (ServeProcess, SmallFileSystem) {
        try ReliabilityRun.makeQueueOnlyPartition()
        let root = try TestPaths.scratchDirectory(label)
        let disk = try SmallFileSystem(under: root, megabytes: megabytes)
        let service = try ServeProcess(root: root, edits: ReliabilityRun.queueOnlyEdits + [("store: \(root)/store.sqlite", "store: \(disk.path)/store.sqlite")])
        return (service, disk)
    }

    @Test("disk full: submissions answer 503 with Retry-After, every 201 is stored and reaches Slurm, and writes resume once there is room")
    func diskFull() async throws {
        let (service, disk) = try service("store-full", megabytes: 4)
        try await service.start()
        defer { service.stop() }
        let token = try service.token(group: "cancer_genomics_lab")
        // Leave about 300 KB free: a few dozen jobs fit, then the disk is full.
        let filler = disk.path + "/filler"
        var stat = statvfs()
        statvfs(disk.path, &stat)
        let free = Int(stat.f_bavail) * Int(stat.f_frsize)
        try Data(count: max(0, free - 300_000)).write(to: URL(fileURLWithPath: filler))
        var acknowledged: [String] = [], refused = 0, otherStatuses: [Int] = [], retryAfter: String?
        for number in 0..<400 {
            let answer = try await service.request("POST", "/v1/jobs", token: token, body: ReliabilityCrashTests.request(number, run: "full"))
            switch answer.status {
            case 201: acknowledged.append(try #require(answer.body?["id"]?.stringValue))
            case 503:
                refused += 1
                retryAfter = answer.headers["retry-after"]
                #expect(answer.body?["detail"]?.stringValue?.contains("full") == true, "\(answer.body?.jsonText ?? "")")
            default: otherStatuses.append(answer.status)
            }
            if refused >= 5 { break }
        }
        #expect(refused >= 5, "the disk never filled up (\(acknowledged.count) jobs stored)")
        #expect(otherStatuses.isEmpty, "answers other than 201 and 503: \(otherStatuses)")
        #expect(retryAfter == "30")
        #expect(try await service.request("GET", "/healthz").status == 200, "the service is still up")
        for id in acknowledged.suffix(5) { #expect(try await service.request("GET", "/v1/jobs/\(id)", token: token).status == 200) }

        try FileManager.default.removeItem(atPath: filler)
        let after = try await service.request("POST", "/v1/jobs", token: token, body: ReliabilityCrashTests.request(999, run: "full"))
        #expect(after.status == 201, "writes resume once there is room: \(after.status)")
        if let id = after.body?["id"]?.stringValue { acknowledged.append(id) }
        // Every acknowledged job was stored, and is (or gets) submitted, once.
        let deadline = Date().addingTimeInterval(60)
        var unsubmitted = acknowledged
        while !unsubmitted.isEmpty && Date() < deadline {
            var still: [String] = []
            for id in unsubmitted where try await service.request("GET", "/v1/jobs/\(id)", token: token).body?["native_job_id"] == nil { still.append(id) }
            unsubmitted = still
            if !unsubmitted.isEmpty { try await Task.sleep(for: .seconds(1)) }
        }
        #expect(unsubmitted.isEmpty, "acknowledged jobs never submitted: \(unsubmitted.prefix(5))")
        let inSlurm = try SlurmTags.nativeIDs(since: Date().addingTimeInterval(-600), partition: ReliabilityRun.queueOnlyPartition)
        #expect(acknowledged.allSatisfy { inSlurm[$0]?.count == 1 })
        _ = try runBlocking("/usr/bin/env", ["scancel", "-p", ReliabilityRun.queueOnlyPartition])
        ReliabilityRun.record("store-disk-full", ["acknowledged": .number(Double(acknowledged.count)), "refused_503": .number(Double(refused)),
                                                  "other_statuses": .number(Double(otherStatuses.count)), "in_slurm_once": .number(Double(acknowledged.filter { inSlurm[$0]?.count == 1 }.count))])
    }

    /// A small ext4 file system on a loop device: unlike tmpfs it honours the immutable attribute, which
    /// makes the open store refuse writes even to root, as a disk remounted read-only after an error does.
    final class LoopFileSystem {
        let path: String
        let image: String
        init(under root: String, megabytes: Int) throws {
            path = root + "/storefs"
            image = root + "/storefs.img"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Data(count: megabytes << 20).write(to: URL(fileURLWithPath: image))
            for command in [["mkfs.ext4", "-q", image], ["mount", "-o", "loop", image, path]] {
                let result = try runBlocking("/usr/bin/env", command)
                guard result.status == 0 else { throw SchedulerError(.unavailable, operation: command[0], detail: "needs root and a loop device: \(result.stderr)") }
            }
        }
        func immutable(_ on: Bool, _ files: [String]) throws {
            let result = try runBlocking("/usr/bin/env", ["chattr", on ? "+i" : "-i"] + files.map { path + "/" + $0 }.filter { FileManager.default.fileExists(atPath: $0) })
            guard result.status == 0 else { throw SchedulerError(.unavailable, operation: "chattr", detail: result.stderr) }
        }
        func remount(readOnly: Bool) throws {
            let result = try runBlocking("/usr/bin/env", ["mount", "-o", "remount,\(readOnly ? "ro" : "rw")", path])
            guard result.status == 0 else { throw SchedulerError(.unavailable, operation: "remount", detail: result.stderr) }
        }
        deinit {
            _ = try? runBlocking("/usr/bin/env", ["chattr", "-R", "-i", path])
            _ = try? runBlocking("/usr/bin/env", ["umount", "-l", path])
        }
    }

    @Test("read-only store: submissions answer 503 while the running service cannot write, it stays up and writes again; started on a read-only mount it refuses with exit 3")
    func readOnly() async throws {
        try ReliabilityRun.makeQueueOnlyPartition()
        let root = try TestPaths.scratchDirectory("store-readonly")
        let disk = try LoopFileSystem(under: root, megabytes: 16)
        let service = try ServeProcess(root: root, edits: ReliabilityRun.queueOnlyEdits + [("store: \(root)/store.sqlite", "store: \(disk.path)/store.sqlite")])
        try await service.start()
        let token = try service.token(group: "cancer_genomics_lab")
        #expect(try await service.request("POST", "/v1/jobs", token: token, body: ReliabilityCrashTests.request(0, run: "ro")).status == 201)
        let files = ["store.sqlite", "store.sqlite-wal", "store.sqlite-shm"]
        try disk.immutable(true, files)
        var statuses: [Int] = []
        for number in 1...5 {
            let answer = try await service.request("POST", "/v1/jobs", token: token, body: ReliabilityCrashTests.request(number, run: "ro"))
            statuses.append(answer.status)
            if answer.status == 503 { #expect(answer.body?["detail"]?.stringValue?.contains("nothing was changed") == true, "\(answer.body?.jsonText ?? "")") }
        }
        #expect(statuses.allSatisfy { $0 == 503 }, "\(statuses)")
        let ready = try await service.request("GET", "/readyz")
        #expect(ready.status == 503 && ready.body?["checks"]?["store"]?["ok"] == false, "\(ready.body?.jsonText ?? "")")
        #expect(try await service.request("GET", "/healthz").status == 200)
        try disk.immutable(false, files)
        var resumed = false
        for _ in 0..<20 where !resumed {
            resumed = try await service.request("POST", "/v1/jobs", token: token, body: ReliabilityCrashTests.request(9, run: "ro")).status == 201
            if !resumed { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(resumed, "writes resume once the store is writable again")
        #expect(service.stop() == 0)

        // Started on a file system mounted read-only: a clear refusal, no restart loop.
        try disk.remount(readOnly: true)
        let start = try Self.startExpectingRefusal(configPath: service.configPath)
        #expect(start.status == 3, "exit \(start.status): \(start.message)")
        #expect(start.message.contains("read-only") || start.message.contains("readonly"), "\(start.message)")
        try disk.remount(readOnly: false)
        _ = try runBlocking("/usr/bin/env", ["scancel", "-p", ReliabilityRun.queueOnlyPartition])
        ReliabilityRun.record("store-read-only", ["refused_503": .number(Double(statuses.filter { $0 == 503 }.count)), "attempts": .number(Double(statuses.count)),
                                                  "readyz_status_while_read_only": .number(Double(ready.status)), "resumed": .bool(resumed),
                                                  "exit_status_on_read_only_mount": .number(Double(start.status))])
    }

    /// Runs `serve` where it must refuse to start; its exit status and standard error (it is stopped
    /// and reported as status -1 if it is still running after 20 s).
    static func startExpectingRefusal(configPath: String) throws -> (status: Int32, message: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServeProcess.binary)
        process.arguments = ["serve", "--config", configPath]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        let stillRunning = process.isRunning
        if stillRunning { process.terminate() }
        process.waitUntilExit()
        return (stillRunning ? -1 : process.terminationStatus, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test("a damaged store at start-up: serve refuses to start with exit status 3 and instructions, leaves the file as it was; systemd will not loop")
    func damagedAtStartup() async throws {
        try LiveCluster.check()
        let root = try TestPaths.scratchDirectory("store-damaged")
        let service = try ServeProcess(root: root)
        // A real store with jobs in it, then damaged two ways: garbage over its middle pages, and garbage from the start.
        try await service.start()
        let token = try service.token(group: "cancer_genomics_lab")
        for number in 0..<20 { _ = try await service.request("POST", "/v1/jobs", token: token, body: ReliabilityCrashTests.request(number, run: "damaged")) }
        #expect(service.stop() == 0)
        let path = root + "/store.sqlite"
        // A stopped service leaves its store as one file (its WAL copied in), so the damage below is
        // to the store itself and not hidden by newer copies of the same pages in the WAL.
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(wal == 0, "the stopped service left \(wal) bytes in \(path)-wal")
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var outcomes: [String: JSONValue] = [:]
        for damage in ["middle pages overwritten", "not a database"] {
            var damaged = original
            if damage == "not a database" {
                damaged = Data((0..<damaged.count).map { _ in UInt8.random(in: 0...255) })
            } else {
                let start = damaged.count / 3
                damaged.replaceSubrange(start..<min(damaged.count, start + 8192), with: Data(repeating: 0xA5, count: min(8192, damaged.count - start)))
            }
            try damaged.write(to: URL(fileURLWithPath: path))
            let before = SHA256.hash(data: damaged)
            let (status, message) = try Self.startExpectingRefusal(configPath: service.configPath)
            #expect(status == 3, "\(damage): exit \(status): \(message)")
            #expect(message.contains(path) && message.contains("restore the last backup"), "\(damage): \(message)")
            #expect(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))) == before, "\(damage): the damaged file was changed")
            outcomes[damage] = .number(Double(status))
        }
        let unit = try String(contentsOfFile: TestPaths.root + "/contrib/systemd/hpcbridge.service", encoding: .utf8)
        #expect(unit.contains("RestartPreventExitStatus=2 3") && unit.contains("StartLimitBurst="), "the unit does not restart on a damaged store")
        ReliabilityRun.record("store-damaged-at-startup", ["exit_status_by_damage": .object(outcomes)])
    }
}
