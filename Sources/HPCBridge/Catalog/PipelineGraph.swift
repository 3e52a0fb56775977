/// The steps of a pipeline as a directed acyclic graph (`needs` edges), with the checks a catalog must
/// pass and the orders the renderer and the submitter walk it in. Pure: names in, names out.
public struct PipelineGraph: Sendable {
    /// What is wrong with one `needs` entry, or with the graph as a whole.
    public struct Problem: Sendable, Hashable {
        /// The step whose `needs` holds the problem.
        public let step: Int
        /// The position in that step's `needs`, when the problem is one entry.
        public let need: Int?
        public let message: String
    }

    /// Step names in the catalog's order.
    public let names: [String]
    /// For each step, the indices of the steps it needs.
    public let parents: [[Int]]

    /// Builds the graph, or reports every unknown name, self-reference, duplicate and cycle at once.
    public static func build(steps: [(name: String, needs: [String])]) -> Result<PipelineGraph, PipelineGraphError> {
        var problems: [Problem] = []
        var index: [String: Int] = [:]
        for (i, step) in steps.enumerated() {
            if index[step.name] != nil {
                problems.append(Problem(step: i, need: nil, message: "step \"\(step.name)\" is declared twice; step names must be unique"))
            } else {
                index[step.name] = i
            }
        }
        let names = steps.map(\.name)
        var parents: [[Int]] = []
        for (i, step) in steps.enumerated() {
            var mine: [Int] = []
            for (j, need) in step.needs.enumerated() {
                if need == step.name {
                    problems.append(Problem(step: i, need: j, message: "step \"\(step.name)\" needs itself"))
                } else if let parent = index[need] {
                    mine.append(parent)
                } else {
                    problems.append(Problem(step: i, need: j, message: "needs \"\(need)\", which is not a step of this pipeline\(EditDistance.hint(for: need, among: names)); steps: \(names.joined(separator: ", "))"))
                }
            }
            parents.append(mine)
        }
        let graph = PipelineGraph(names: names, parents: parents)
        if problems.isEmpty, let cycle = graph.firstCycle() {
            let path = (cycle + [cycle[0]]).map { "\"\(names[$0])\"" }.joined(separator: " → ")
            problems.append(Problem(step: cycle[0], need: nil, message: "the steps form a cycle (\(path)), so none of them could ever start"))
        }
        return problems.isEmpty ? .success(graph) : .failure(PipelineGraphError(problems: problems))
    }

    /// Steps in an order where every step comes after all it needs (stable: catalog order among equals).
    public var topologicalOrder: [Int] {
        var done = Set<Int>(), order: [Int] = []
        while order.count < names.count {
            guard let next = names.indices.first(where: { !done.contains($0) && parents[$0].allSatisfy(done.contains) }) else { break }
            done.insert(next)
            order.append(next)
        }
        return order
    }

    /// Every step that must complete before `step` can start (its needs, theirs, and so on).
    public func ancestors(of step: Int) -> Set<Int> {
        var seen = Set<Int>(), pending = parents[step]
        while let next = pending.popLast() {
            if seen.insert(next).inserted { pending += parents[next] }
        }
        return seen
    }

    /// Every step that cannot run once `step` failed (those that need it, and so on).
    public func descendants(of step: Int) -> Set<Int> {
        Set(names.indices.filter { ancestors(of: $0).contains(step) })
    }

    /// One cycle as step indices, found by depth-first search, or nil for a DAG.
    func firstCycle() -> [Int]? {
        enum Mark { case active, finished }
        var marks: [Int: Mark] = [:]
        var stack: [Int] = []
        func visit(_ node: Int) -> [Int]? {
            marks[node] = .active
            stack.append(node)
            for parent in parents[node] {
                if marks[parent] == .active { return Array(stack[stack.lastIndex(of: parent)!...]) }
                if marks[parent] == nil, let cycle = visit(parent) { return cycle }
            }
            stack.removeLast()
            marks[node] = .finished
            return nil
        }
        for node in names.indices where marks[node] == nil {
            if let cycle = visit(node) { return cycle }
        }
        return nil
    }
}

/// The problems `PipelineGraph.build` found.
public struct PipelineGraphError: Error, Sendable {
    public let problems: [PipelineGraph.Problem]
}
