/// The task indices of a job array (one task per sample of a sample sheet) and how many tasks may run
/// at once: what one scatter step submits as a single scheduler job.
///
/// The indices are kept normalised (sorted, disjoint, non-adjacent ranges), so two arrays with the same
/// tasks are equal and print the same. Slurm's text form (`0-15%4`, `0,6,16-32`) is written by
/// `indexList` and read by `init(parsing:)`, which also reads the stepped form Slurm and PBS print
/// (`0-200:2`) and PBS's `array_indices_remaining`.
public struct JobArray: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Sorted, disjoint ranges of task indices, none adjacent to the next.
    public let indices: [ClosedRange<Int>]
    /// The most tasks running at once (Slurm `%N`, PBS `max_run_subjobs`); nil: no limit.
    public let maxRunning: Int?

    /// Why an index list or throttle cannot be an array.
    public struct Invalid: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
    }

    /// Slurm refuses an `array_inx` longer than this (4 KiB, `_test_strlen` in slurmctld's job_mgr.c)
    /// with ESLURM_PATHNAME_TOO_LONG: a longer list must be split into several arrays.
    public static let slurmIndexListLimit = 4096

    /// Normalises `indices` (sorts and merges overlapping or adjacent ranges). Throws for an empty set, a
    /// negative index or a throttle below 1.
    public init(indices: some Sequence<ClosedRange<Int>>, maxRunning: Int? = nil) throws {
        var merged: [ClosedRange<Int>] = []
        for range in indices.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        guard let first = merged.first else { throw Invalid(description: "a job array needs at least one task index") }
        guard first.lowerBound >= 0 else { throw Invalid(description: "job array indices start at 0; \(first.lowerBound) is negative") }
        if let maxRunning, maxRunning < 1 {
            throw Invalid(description: "at most \(maxRunning) tasks running at once would run none; the limit must be at least 1")
        }
        self.indices = merged
        self.maxRunning = maxRunning
    }

    /// The array of these single indices (a sample sheet's rows).
    public init(taskIndices: some Sequence<Int>, maxRunning: Int? = nil) throws {
        try self.init(indices: taskIndices.map { $0...$0 }, maxRunning: maxRunning)
    }

    /// Reads Slurm's (and PBS's) index list: comma-separated `N`, `A-B` or `A-B:S` items, then an
    /// optional `%N` throttle (`0-15%4`, `0,6,16-32`, `0-200:2%3`).
    public init(parsing text: some StringProtocol) throws {
        var list = Substring(text)
        var maxRunning: Int?
        if let percent = list.lastIndex(of: "%") {
            guard let limit = Int(list[list.index(after: percent)...]) else {
                throw Invalid(description: "\(JSONValue.quote(String(text))): the throttle after % is not a number")
            }
            maxRunning = limit
            list = list[..<percent]
        }
        var ranges: [ClosedRange<Int>] = []
        for item in list.split(separator: ",", omittingEmptySubsequences: false) {
            let stepParts = item.split(separator: ":", omittingEmptySubsequences: false)
            let bounds = stepParts[0].split(separator: "-", omittingEmptySubsequences: false)
            guard stepParts.count <= 2, bounds.count <= 2, let low = Int(bounds[0]), let high = Int(bounds.last!), low <= high else {
                throw Invalid(description: "\(JSONValue.quote(String(text))): \(JSONValue.quote(String(item))) is not an index or a range A-B[:S]")
            }
            if stepParts.count == 2 {
                guard let step = Int(stepParts[1]), step >= 1 else {
                    throw Invalid(description: "\(JSONValue.quote(String(text))): the step in \(JSONValue.quote(String(item))) is not a positive number")
                }
                ranges += stride(from: low, through: high, by: step).map { $0...$0 }
            } else {
                ranges.append(low...high)
            }
        }
        try self.init(indices: ranges, maxRunning: maxRunning)
    }

    /// The index list in Slurm's form (`--array=`, `array_inx`): `0-15%4`, `0,6,16-32`.
    public var indexList: String {
        let list = indices.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
        return maxRunning.map { "\(list)%\($0)" } ?? list
    }

    public var description: String { indexList }

    /// True when Slurm takes this index list in one submission (at most 4 KiB); otherwise the caller
    /// splits the tasks over several arrays (`split(fittingIn:)`) or refuses the request.
    public var fitsSlurmIndexListLimit: Bool { indexList.utf8.count <= Self.slurmIndexListLimit }

    /// The same tasks as consecutive arrays whose index lists each fit `limit` bytes, each with this
    /// array's throttle (which then applies per array).
    public func split(fittingIn limit: Int = slurmIndexListLimit) -> [JobArray] {
        let suffix = maxRunning.map { "%\($0)".utf8.count } ?? 0
        var parts: [JobArray] = []
        var current: [ClosedRange<Int>] = []
        var length = suffix
        for range in indices {
            let item = (range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)").utf8.count
            let added = current.isEmpty ? item : item + 1
            if !current.isEmpty, length + added > limit {
                parts.append(try! JobArray(indices: current, maxRunning: maxRunning))
                current = []
                length = suffix
            }
            length += current.isEmpty ? item : item + 1
            current.append(range)
        }
        if !current.isEmpty { parts.append(try! JobArray(indices: current, maxRunning: maxRunning)) }
        return parts
    }

    /// How many tasks the array has.
    public var count: Int { indices.reduce(0) { $0 + $1.count } }

    /// Every task index, in order.
    public var taskIndices: some Sequence<Int> { indices.lazy.flatMap { $0 } }

    /// Whether `index` is one of the array's tasks.
    public func contains(_ index: Int) -> Bool {
        var low = 0, high = indices.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if indices[middle].contains(index) { return true }
            if index < indices[middle].lowerBound { high = middle - 1 } else { low = middle + 1 }
        }
        return false
    }

    /// Decodes and normalises again, so a stored array that was edited by hand cannot break the invariant.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let indices = try container.decode([ClosedRange<Int>].self, forKey: .indices)
        let maxRunning = try container.decodeIfPresent(Int.self, forKey: .maxRunning)
        do { try self.init(indices: indices, maxRunning: maxRunning) } catch let error as Invalid {
            throw DecodingError.dataCorruptedError(forKey: .indices, in: container, debugDescription: error.description)
        }
    }
}
