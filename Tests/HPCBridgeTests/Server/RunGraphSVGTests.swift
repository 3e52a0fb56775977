import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import HPCBridgeServer
import Testing
@testable import HPCBridge

/// The run page's step graph: the layout's geometry, and an SVG that parses, escapes what it shows
/// and carries nothing the page's Content-Security-Policy would refuse.
@Suite("UI: the run graph SVG")
struct RunGraphSVGTests {
    /// An element of the parsed SVG, with the `data-step` of the node `<g>` it sits in, if any.
    struct Element {
        let name: String
        let attributes: [String: String]
        let step: String?
    }

    /// Collects elements and each `<text>`'s and `<title>`'s content, in document order.
    final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        var texts: [(element: String, step: String?, text: String)] = []
        var openSteps: [String?] = []
        var current = ""

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            if elementName == "g" { openSteps.append(attributes["data-step"]) }
            elements.append(Element(name: elementName, attributes: attributes, step: openSteps.last ?? nil))
            current = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            if elementName == "text" || elementName == "title" { texts.append((elementName, openSteps.last ?? nil, current)) }
            if elementName == "g" { openSteps.removeLast() }
            current = ""
        }
    }

    static func graph(_ steps: [(name: String, needs: [String])]) throws -> PipelineGraph {
        try PipelineGraph.build(steps: steps).get()
    }

    static let diamond: [(name: String, needs: [String])] = [("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"])]

    /// Graphs of several shapes for the geometric checks.
    static let shapes: [[(name: String, needs: [String])]] = [
        [("only", [])],
        [("align", []), ("joint_genotype", ["align"])],
        diamond,
        [("a", []), ("b", []), ("c", ["b"]), ("d", ["a"])],
        [("a", []), ("b", ["a"]), ("c", ["b"]), ("d", ["a", "c"]), ("e", []), ("f", ["e", "b"]), ("g", ["d", "f"]), ("h", [])],
    ]

    static func parse(_ svg: String) throws -> Collector {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        let parsed = parser.parse()
        #expect(parsed, "not well-formed XML: \(String(describing: parser.parserError))\n\(svg)")
        return collector
    }

    static func nodes(_ graph: PipelineGraph, state: String = "running") -> [RunGraphSVG.Node] {
        graph.names.map { RunGraphSVG.Node(name: $0, state: state, href: "#step-\($0)") }
    }

    static func int(_ element: Element, _ attribute: String) -> Int? { element.attributes[attribute].flatMap { Int($0) } }

    @Test("a diamond has three layers, the two middle steps stacked in one")
    func diamondLayers() throws {
        let layout = RunGraphSVG.layout(try Self.graph(Self.diamond))
        #expect(layout.layers == [0, 1, 1, 2])
        #expect(layout.columns == [[0], [1, 2], [3]])
        #expect(layout.boxes[1].x == layout.boxes[2].x)
        #expect(layout.boxes[1].y < layout.boxes[2].y, "ties keep catalog order")
        #expect(layout.boxes[0].y == layout.boxes[3].y, "single steps are centred on the two-step layer")
        #expect(layout.boxes[0].y > layout.boxes[1].y && layout.boxes[0].y < layout.boxes[2].y)
    }

    @Test("the shipped cohort pipelines are two steps, one after the other, left to right")
    func cohortLayers() throws {
        for name in ["germline_cohort", "rnaseq_cohort"] {
            let pipeline = try PipelineCatalog.loadPipeline(path: TestPaths.catalog + "/\(name).yaml")
            let layout = RunGraphSVG.layout(pipeline.graph)
            #expect(layout.layers == [0, 1], "\(name)")
            #expect(layout.boxes[0].y == layout.boxes[1].y)
            #expect(layout.boxes[0].x + RunGraphSVG.boxWidth < layout.boxes[1].x)
            let names = pipeline.steps.map(\.name)
            let svg = RunGraphSVG.svg(graph: pipeline.graph, nodes: pipeline.steps.map { RunGraphSVG.Node(name: $0.name, title: $0.title, state: "queued") })
            #expect(svg.contains("Steps of this run: \(names[0]) → \(names[1])</title>"))
        }
    }

    @Test("a step's parents' order decides its row, so edges do not cross")
    func barycenter() throws {
        // c needs b and d needs a: in catalog order c would sit above d and the two edges would cross.
        let layout = RunGraphSVG.layout(try Self.graph([("a", []), ("b", []), ("c", ["b"]), ("d", ["a"])]))
        #expect(layout.columns == [[0, 1], [3, 2]])
        #expect(layout.boxes[3].y == layout.boxes[0].y)
        #expect(layout.boxes[2].y == layout.boxes[1].y)
    }

    @Test("no two boxes overlap, and the picture holds them all")
    func noOverlap() throws {
        for shape in Self.shapes {
            let layout = RunGraphSVG.layout(try Self.graph(shape))
            let (w, h) = (RunGraphSVG.boxWidth, RunGraphSVG.boxHeight)
            for i in layout.boxes.indices {
                let a = layout.boxes[i]
                #expect(a.x >= 0 && a.y >= 0 && a.x + w <= layout.width && a.y + h <= layout.height)
                for j in layout.boxes.indices where j > i {
                    let b = layout.boxes[j]
                    let apart = a.x + w <= b.x || b.x + w <= a.x || a.y + h <= b.y || b.y + h <= a.y
                    #expect(apart, "\(shape.map(\.name)): \(shape[i].name) overlaps \(shape[j].name)")
                }
            }
            for step in shape.indices {
                for parent in try Self.graph(shape).parents[step] {
                    #expect(layout.layers[parent] < layout.layers[step])
                }
            }
        }
    }

    @Test("every edge starts on its parent's box and ends on its child's, as the SVG draws them")
    func edgesJoinBoxes() throws {
        for shape in Self.shapes {
            let graph = try Self.graph(shape)
            let parsed = try Self.parse(RunGraphSVG.svg(graph: graph, nodes: Self.nodes(graph)))
            var boxes: [String: (x: Int, y: Int, w: Int, h: Int)] = [:]
            for element in parsed.elements where element.name == "rect" && element.attributes["class"] == "box" {
                let step = try #require(element.step)
                boxes[step] = (try #require(Self.int(element, "x")), try #require(Self.int(element, "y")),
                               try #require(Self.int(element, "width")), try #require(Self.int(element, "height")))
            }
            #expect(boxes.count == shape.count)
            func onEdge(_ point: (Int, Int), of box: (x: Int, y: Int, w: Int, h: Int)) -> Bool {
                let inside = point.0 >= box.x && point.0 <= box.x + box.w && point.1 >= box.y && point.1 <= box.y + box.h
                let onSide = point.0 == box.x || point.0 == box.x + box.w || point.1 == box.y || point.1 == box.y + box.h
                return inside && onSide
            }
            let edges = parsed.elements.filter { $0.name == "path" && $0.attributes["class"] == "edge" }
            #expect(edges.count == shape.map(\.needs.count).reduce(0, +))
            var drawn: Set<String> = []
            for edge in edges {
                let from = try #require(edge.attributes["data-from"]), to = try #require(edge.attributes["data-to"])
                drawn.insert("\(from)>\(to)")
                let d = try #require(edge.attributes["d"])
                #expect(d.hasPrefix("M ") && d.contains(" C "), "a cubic Bézier: \(d)")
                let numbers = d.split(whereSeparator: { !"-0123456789".contains($0) }).compactMap { Int($0) }
                try #require(numbers.count == 8, "\(d)")
                #expect(onEdge((numbers[0], numbers[1]), of: try #require(boxes[from])), "\(from)>\(to) starts off its parent: \(d)")
                #expect(onEdge((numbers[6], numbers[7]), of: try #require(boxes[to])), "\(from)>\(to) ends off its child: \(d)")
                #expect(edge.attributes["marker-end"] == "url(#run-graph-arrow)")
            }
            let needed = Set(shape.flatMap { step in step.needs.map { "\($0)>\(step.name)" } })
            #expect(drawn == needed)
        }
    }

    @Test("the SVG parses as XML, is sized by its layout and has no inline style or script")
    func wellFormed() throws {
        for shape in Self.shapes {
            let graph = try Self.graph(shape)
            let svg = RunGraphSVG.svg(graph: graph, nodes: Self.nodes(graph))
            let parsed = try Self.parse(svg)
            #expect(!svg.contains("style="))
            #expect(!svg.contains("<style"))
            #expect(!svg.contains("<script"))
            let root = try #require(parsed.elements.first)
            #expect(root.name == "svg")
            #expect(root.attributes["xmlns"] == "http://www.w3.org/2000/svg")
            #expect(root.attributes["role"] == "img")
            #expect(root.attributes["class"] == "run-graph")
            let layout = RunGraphSVG.layout(graph)
            #expect(root.attributes["viewBox"] == "0 0 \(layout.width) \(layout.height)")
            #expect(root.attributes["width"] == "\(layout.width)" && root.attributes["height"] == "\(layout.height)")
            let labelID = try #require(root.attributes["aria-labelledby"])
            #expect(parsed.elements.contains { $0.name == "title" && $0.attributes["id"] == labelID })
            #expect(parsed.elements.contains { $0.name == "marker" && $0.attributes["id"] == "run-graph-arrow" })
            #expect(parsed.elements.filter { $0.name == "g" && $0.attributes["class"] == "node state-running" }.count == shape.count)
            #expect(parsed.elements.filter { $0.name == "a" }.map { $0.attributes["href"] } == shape.map { "#step-\($0.name)" })
            #expect(RunGraphSVG.svg(graph: graph, nodes: Self.nodes(graph)) == svg, "deterministic")
        }
    }

    @Test("names, titles and links are escaped; the full name stays in the tooltip")
    func escaping() throws {
        let evil = #"<evil "name">&"#
        let graph = try Self.graph([(evil, []), ("it's", [evil])])
        let nodes = [RunGraphSVG.Node(name: evil, title: "a < b & 'c'", state: "failed", href: #"#"><script>"#),
                     RunGraphSVG.Node(name: "it's", title: "bell \u{7} here", state: "held")]
        let svg = RunGraphSVG.svg(graph: graph, nodes: nodes)
        #expect(svg.contains("&lt;evil &quot;name&quot;&gt;&amp;"))
        #expect(svg.contains("it&#39;s"))
        #expect(!svg.contains(evil) && !svg.contains("<script") && !svg.contains("<evil"))
        let parsed = try Self.parse(svg)
        #expect(parsed.elements.contains { $0.name == "g" && $0.attributes["data-step"] == evil })
        #expect(parsed.elements.contains { $0.name == "path" && $0.attributes["data-from"] == evil && $0.attributes["data-to"] == "it's" })
        #expect(parsed.elements.contains { $0.name == "a" && $0.attributes["href"] == #"#"><script>"# })
        #expect(parsed.texts.contains { $0.element == "text" && $0.text == evil })
        #expect(parsed.texts.contains { $0.element == "text" && $0.text == "a < b & 'c'" })
        #expect(parsed.texts.contains { $0.element == "text" && $0.text == "bell \u{FFFD} here" }, "a control character XML cannot hold is replaced")
        #expect(parsed.texts.contains { $0.element == "title" && $0.text == "\(evil): failed" })
        #expect(parsed.texts.contains { $0.element == "title" && $0.text == "Steps of this run: \(evil) → it's" })
    }

    @Test("a long name is cut with an ellipsis in the box and kept whole in the tooltip")
    func longName() throws {
        let long = "a_very_long_step_name_that_does_not_fit"
        let graph = try Self.graph([(long, [])])
        let parsed = try Self.parse(RunGraphSVG.svg(graph: graph, nodes: [RunGraphSVG.Node(name: long, state: "running")]))
        let shown = try #require(parsed.texts.first { $0.element == "text" }?.text)
        #expect(shown == String(long.prefix(21)) + "…")
        #expect(shown.count == RunGraphSVG.nameLimit)
        #expect(parsed.texts.contains { $0.element == "title" && $0.text == "\(long): running" })
    }

    @Test("a state that is not a plain lower-case name becomes state-unknown", arguments: [
        ("running", "state-running"), ("held", "state-held"), ("not_a_state", "state-not_a_state"),
        ("Running", "state-unknown"), ("x\" onclick=\"y", "state-unknown"), ("", "state-unknown"), ("run ning", "state-unknown"),
    ])
    func states(state: String, expected: String) throws {
        let graph = try Self.graph([("a", [])])
        let parsed = try Self.parse(RunGraphSVG.svg(graph: graph, nodes: [RunGraphSVG.Node(name: "a", state: state)]))
        let node = try #require(parsed.elements.first { $0.name == "g" })
        #expect(node.attributes["class"] == "node \(expected)")
    }

    @Test("the progress fill is proportional to done of total", arguments: [(0, 4, 0), (1, 4, 28), (2, 4, 56), (4, 4, 112), (9, 4, 112), (-1, 4, 0), (1, 3, 37)])
    func progress(done: Int, total: Int, width: Int) throws {
        let graph = try Self.graph([("align", [])])
        let svg = RunGraphSVG.svg(graph: graph, nodes: [RunGraphSVG.Node(name: "align", state: "running", done: done, total: total)])
        let parsed = try Self.parse(svg)
        let track = try #require(parsed.elements.first { $0.attributes["class"] == "progress-track" })
        let fill = try #require(parsed.elements.first { $0.attributes["class"] == "progress-fill" })
        #expect(Self.int(track, "width") == RunGraphSVG.trackWidth)
        #expect(Self.int(fill, "width") == width)
        #expect(fill.attributes["x"] == track.attributes["x"] && fill.attributes["y"] == track.attributes["y"])
        #expect(parsed.texts.contains { $0.element == "text" && $0.text == "\(done)/\(total)" })
        #expect(parsed.texts.contains { $0.element == "title" && $0.text == "align: running (\(done) of \(total) tasks)" })
    }

    @Test("a step without tasks, title or link has no progress bar, title text or <a>")
    func plainStep() throws {
        let graph = try Self.graph([("align", [])])
        let svg = RunGraphSVG.svg(graph: graph, nodes: [RunGraphSVG.Node(name: "align", state: "completed")])
        #expect(!svg.contains("progress-"))
        #expect(!svg.contains("class=\"title\""))
        #expect(!svg.contains("<a "))
        #expect(svg.contains("<title>align: completed</title>"))
    }

    @Test("a one-step graph is one box with no edges, sized to fit it")
    func oneStep() throws {
        let graph = try Self.graph([("only", [])])
        let svg = RunGraphSVG.svg(graph: graph, nodes: [RunGraphSVG.Node(name: "only", title: "The only step", state: "queued")])
        let parsed = try Self.parse(svg)
        #expect(!parsed.elements.contains { $0.attributes["class"] == "edge" })
        #expect(parsed.elements.filter { $0.attributes["class"] == "box" }.count == 1)
        let margin = RunGraphSVG.margin
        #expect(parsed.elements.first?.attributes["viewBox"] == "0 0 \(RunGraphSVG.boxWidth + 2 * margin) \(RunGraphSVG.boxHeight + 2 * margin)")
        #expect(parsed.texts.contains { $0.element == "title" && $0.text == "Steps of this run: only" })
        #expect(parsed.texts.contains { $0.element == "text" && $0.text == "The only step" })
    }

    @Test("links that could run code are dropped; relative and http(s) links are kept")
    func links() {
        #expect(RunGraphSVG.safeHref("#step-align") == "#step-align")
        #expect(RunGraphSVG.safeHref("/ui/runs/1?x=a:b") == "/ui/runs/1?x=a:b")
        #expect(RunGraphSVG.safeHref("https://example.org/a") == "https://example.org/a")
        #expect(RunGraphSVG.safeHref("javascript:alert(1)") == nil)
        #expect(RunGraphSVG.safeHref(" JavaScript:alert(1)") == nil)
        #expect(RunGraphSVG.safeHref("data:text/html,x") == nil)
        #expect(RunGraphSVG.safeHref("") == nil)
    }

    @Test("nodes missing for some steps are drawn by their graph name as unknown")
    func missingNodes() throws {
        let graph = try Self.graph([("align", []), ("joint", ["align"])])
        let parsed = try Self.parse(RunGraphSVG.svg(graph: graph, nodes: [RunGraphSVG.Node(name: "align", state: "running")]))
        #expect(parsed.elements.contains { $0.name == "g" && $0.attributes["data-step"] == "joint" && $0.attributes["class"] == "node state-unknown" })
    }
}
