import HPCBridge

/// Draws a pipeline run's steps as a standalone SVG graph for the run's web page.
///
/// Pure and deterministic (same input, same bytes), so pages can be cached and tests can compare
/// text. Steps go left to right in layers, the way pipelines are usually read: a step's layer is the
/// longest chain of `needs` from a step that needs nothing. Every box has the same size, so the
/// picture's size follows from the number of layers and the widest layer alone.
///
/// The page's Content-Security-Policy forbids inline styles and scripts, so the SVG carries no
/// `style` attribute and no `<style>` or `<script>` element. Presentation attributes give a readable
/// black-and-white default; the site stylesheet colours it through these classes (CSS beats
/// presentation attributes):
/// - `run-graph`: the `<svg>` root. Edges, arrows and box outlines use `currentColor`, so its `color` sets them.
/// - `node`: one step's `<g>`, which also carries `state-<state>` (`state-running`, `state-failed`, …,
///   `state-unknown` for anything that is not a plain lower-case name).
/// - `box`: the step's `<rect>` outline.
/// - `name`, `title`, `count`: the step's name, its human title and its "done/total" text.
/// - `progress-track`, `progress-fill`: the two rects of an array step's progress bar.
/// - `edge`: a `needs` arrow (`<path>`); `arrow`: the arrow head inside the marker.
///
/// Each node's `<g>` has `data-step` and each edge `data-from`/`data-to` (step names), for the page's
/// own stylesheet and for tests. An edge that skips a layer is drawn straight through it, behind the
/// boxes; for the one to eight steps of a catalog pipeline this reads well enough.
public enum RunGraphSVG {
    /// What the page knows about one step of the run, in the same order as the graph's `names`.
    public struct Node: Sendable {
        /// The step's name; shown in the box (cut with an ellipsis when long) and in full in its tooltip.
        public var name: String
        /// The step's human title, shown under the name when present.
        public var title: String?
        /// A `JobState` raw value ("queued", "running", …); becomes the CSS class `state-<state>`.
        /// Kept as text so the page can pass run-level states too; anything but `[a-z_]+` is "unknown".
        public var state: String
        /// For an array step: how many of its `total` tasks have ended.
        public var done: Int?
        /// For an array step: how many tasks it has; when set, the box shows a progress bar.
        public var total: Int?
        /// Where the box links to, e.g. "#step-align"; only relative links and http(s) are kept.
        public var href: String?

        /// A step's node; everything but the name and state is optional.
        public init(name: String, title: String? = nil, state: String, done: Int? = nil, total: Int? = nil, href: String? = nil) {
            self.name = name
            self.title = title
            self.state = state
            self.done = done
            self.total = total
            self.href = href
        }
    }

    /// Where each step sits. Internal so tests can check the geometry without parsing the SVG.
    struct Layout {
        /// The top-left corner of one step's box.
        struct Box: Equatable {
            var x: Int
            var y: Int
        }

        /// For each step, its layer (0 for steps that need nothing).
        var layers: [Int]
        /// For each layer, its steps from top to bottom.
        var columns: [[Int]]
        /// For each step, its box.
        var boxes: [Box]
        var width: Int
        var height: Int
    }

    static let boxWidth = 180
    static let boxHeight = 64
    /// Wide enough for an edge's curve and arrow head between layers.
    static let layerGap = 56
    static let rowGap = 20
    static let margin = 16
    /// Names longer than this are cut with an ellipsis so they stay inside the box at the default font size.
    static let nameLimit = 22
    /// Titles use a smaller font, so a few more characters fit.
    static let titleLimit = 28
    static let trackWidth = 112
    static let trackHeight = 6

    /// One `<svg>` element drawing `graph` with the states in `nodes` (one per step, in `graph.names`
    /// order). A missing node is drawn as its graph name in state "unknown" and extra nodes are
    /// ignored, so a page built from a run that lags its catalog still renders.
    public static func svg(graph: PipelineGraph, nodes: [Node]) -> String {
        let layout = layout(graph)
        let steps = graph.names.indices.map { $0 < nodes.count ? nodes[$0] : Node(name: graph.names[$0], state: "unknown") }
        let summary = layout.columns.map { $0.map { steps[$0].name }.joined(separator: ", ") }.joined(separator: " → ")

        var out: [String] = []
        out.append(#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="run-graph-title" viewBox="0 0 \#(layout.width) \#(layout.height)" width="\#(layout.width)" height="\#(layout.height)" class="run-graph" font-family="sans-serif">"#)
        out.append(#"<title id="run-graph-title">Steps of this run: \#(escaped(summary.isEmpty ? "none" : summary))</title>"#)
        out.append(#"<defs><marker id="run-graph-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path class="arrow" d="M 0 0 L 10 5 L 0 10 z" fill="currentColor"/></marker></defs>"#)
        // Edges first, so boxes drawn afterwards cover any edge that crosses them.
        for child in graph.names.indices {
            for parent in graph.parents[child] {
                out.append(#"<path class="edge" data-from="\#(escaped(steps[parent].name))" data-to="\#(escaped(steps[child].name))" d="\#(edgePath(from: layout.boxes[parent], to: layout.boxes[child]))" fill="none" stroke="currentColor" stroke-width="1.5" marker-end="url(#run-graph-arrow)"/>"#)
            }
        }
        for step in graph.names.indices {
            out.append(nodeElement(steps[step], at: layout.boxes[step]))
        }
        out.append("</svg>")
        return out.joined(separator: "\n")
    }

    /// Layers by longest path from a root, then each layer ordered by the mean height of its steps'
    /// parents (one barycenter pass, catalog order breaking ties), which removes the crossings a
    /// small pipeline would otherwise show. Layers shorter than the widest are centred vertically.
    static func layout(_ graph: PipelineGraph) -> Layout {
        let count = graph.names.count
        var layers = Array(repeating: 0, count: count)
        // Parents come before children in topological order, so their layers are final when read.
        for step in graph.topologicalOrder {
            layers[step] = graph.parents[step].map { layers[$0] + 1 }.max() ?? 0
        }
        let layerCount = (layers.max() ?? -1) + 1
        var columns = Array(repeating: [Int](), count: layerCount)
        for step in 0..<count { columns[layers[step]].append(step) }
        let tallest = columns.map(\.count).max() ?? 0
        let rowPitch = boxHeight + rowGap

        var boxes = Array(repeating: Layout.Box(x: 0, y: 0), count: count)
        for layer in columns.indices {
            if layer > 0 {
                // Every step past layer 0 has a parent, all in earlier layers and already placed.
                columns[layer] = columns[layer]
                    .map { step in (key: barycenter(of: graph.parents[step].map { boxes[$0].y }), step: step) }
                    .sorted { ($0.key, $0.step) < ($1.key, $1.step) }
                    .map(\.step)
            }
            let offset = (tallest - columns[layer].count) * rowPitch / 2
            for (row, step) in columns[layer].enumerated() {
                boxes[step] = Layout.Box(x: margin + layer * (boxWidth + layerGap), y: margin + offset + row * rowPitch)
            }
        }
        let width = 2 * margin + layerCount * boxWidth + max(0, layerCount - 1) * layerGap
        let height = 2 * margin + tallest * boxHeight + max(0, tallest - 1) * rowGap
        return Layout(layers: layers, columns: columns, boxes: boxes, width: width, height: height)
    }

    /// The mean of the parents' heights (0 for none, which only roots have).
    private static func barycenter(of heights: [Int]) -> Double {
        heights.isEmpty ? 0 : Double(heights.reduce(0, +)) / Double(heights.count)
    }

    /// A cubic Bézier from the middle of the parent's right side to the middle of the child's left
    /// side, leaving and arriving horizontally so the arrow head points into the box.
    static func edgePath(from parent: Layout.Box, to child: Layout.Box) -> String {
        let startX = parent.x + boxWidth, startY = parent.y + boxHeight / 2
        let endX = child.x, endY = child.y + boxHeight / 2
        let bend = (endX - startX) / 2
        return "M \(startX) \(startY) C \(startX + bend) \(startY), \(endX - bend) \(endY), \(endX) \(endY)"
    }

    /// One step's `<g>`: tooltip, then (inside a link when it has one) box, name, title and progress.
    private static func nodeElement(_ node: Node, at box: Layout.Box) -> String {
        let state = stateName(node.state)
        var tooltip = "\(node.name): \(state)"
        if let total = node.total { tooltip += " (\(node.done ?? 0) of \(total) tasks)" }

        var parts: [String] = []
        parts.append(#"<rect class="box" x="\#(box.x)" y="\#(box.y)" width="\#(boxWidth)" height="\#(boxHeight)" rx="6" fill="white" stroke="currentColor"/>"#)
        parts.append(#"<text class="name" x="\#(box.x + 10)" y="\#(box.y + 22)" font-size="13" font-weight="bold" fill="black">\#(escaped(truncated(node.name, to: nameLimit)))</text>"#)
        if let title = node.title, !title.isEmpty {
            parts.append(#"<text class="title" x="\#(box.x + 10)" y="\#(box.y + 39)" font-size="11" fill="black">\#(escaped(truncated(title, to: titleLimit)))</text>"#)
        }
        if let total = node.total {
            let done = node.done ?? 0
            let trackX = box.x + 10, trackY = box.y + 48
            parts.append(#"<rect class="progress-track" x="\#(trackX)" y="\#(trackY)" width="\#(trackWidth)" height="\#(trackHeight)" rx="3" fill="lightgray"/>"#)
            parts.append(#"<rect class="progress-fill" x="\#(trackX)" y="\#(trackY)" width="\#(fillWidth(done: done, total: total))" height="\#(trackHeight)" rx="3" fill="currentColor"/>"#)
            let countX = box.x + boxWidth - 10, countY = trackY + trackHeight
            parts.append(#"<text class="count" x="\#(countX)" y="\#(countY)" font-size="11" text-anchor="end" fill="black">\#(done)/\#(total)</text>"#)
        }
        let body = parts.joined()
        let linked = safeHref(node.href).map { #"<a href="\#(escaped($0))">\#(body)</a>"# } ?? body
        return #"<g class="node state-\#(state)" data-step="\#(escaped(node.name))"><title>\#(escaped(tooltip))</title>\#(linked)</g>"#
    }

    /// The state if it is a plain lower-case name (safe as a class name), else "unknown".
    static func stateName(_ state: String) -> String {
        let plain = !state.isEmpty && state.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || $0 == "_" }
        return plain ? state : "unknown"
    }

    /// The fill's width in user units, rounded: 0 for nothing done, the whole track for all done.
    /// `done` is clamped to 0...total so a miscount never draws past the track.
    static func fillWidth(done: Int, total: Int) -> Int {
        guard total > 0 else { return 0 }
        let clamped = min(max(done, 0), total)
        return (trackWidth * clamped + total / 2) / total
    }

    /// The link if it cannot run code: relative links and http(s) only. Escaping keeps a value inside
    /// its attribute but not a `javascript:` URL out of it; the CSP should block those anyway, this
    /// does not rely on it. A scheme is whatever precedes a ":" that comes before any "/", "?" or "#".
    static func safeHref(_ href: String?) -> String? {
        guard let href, !href.isEmpty else { return nil }
        guard let colon = href.firstIndex(of: ":") else { return href }
        let head = href[..<colon]
        if head.contains(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { return href }
        let scheme = head.lowercased()
        return scheme == "http" || scheme == "https" ? href : nil
    }

    /// `text` cut to `limit` characters, the last one an ellipsis, when longer.
    static func truncated(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// Text safe in XML content and in a quoted attribute value. Control characters XML 1.0 cannot
    /// hold at all (even escaped) become U+FFFD, so the result always parses.
    static func escaped(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            case "\t", "\n", "\r": out.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out.append("\u{FFFD}")
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
