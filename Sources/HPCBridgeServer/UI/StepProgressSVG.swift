import HPCBridge

/// A step's tasks by state as one stacked bar: a segment per state, as wide as its share of the tasks.
/// Drawn as SVG because the page's Content-Security-Policy forbids inline styles (a width in a `style`
/// attribute); the colours are the stylesheet's `svg.step-progress rect.state-*`.
enum StepProgressSVG {
    /// Ended tasks first, from the left, then those still on the way: the bar fills as the step advances.
    static let order: [JobState] = [.completed, .failed, .lost, .cancelled, .running, .suspended, .held, .queued, .accepted]
    static let width = 200.0
    static let height = 14.0

    /// `counts` in the order to draw them; `total` the step's tasks, so tasks not yet in any state leave
    /// the track showing.
    static func svg(counts: [(state: JobState, count: Int)], total: Int, label: String) -> String {
        var x = 0.0
        var segments = ""
        let scale = total > 0 ? width / Double(total) : 0
        for (state, count) in counts where count > 0 {
            let w = min(Double(count) * scale, width - x)
            segments += "<rect class=\"segment state-\(state.rawValue)\" x=\"\(format(x))\" y=\"0\" width=\"\(format(w))\" height=\"\(format(height))\"><title>\(count) \(state.rawValue)</title></rect>"
            x += w
        }
        let summary = counts.filter { $0.count > 0 }.map { "\($0.count) \($0.state.rawValue)" }.joined(separator: ", ")
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"step-progress\" role=\"img\" aria-label=\"\(RunGraphSVG.escaped(label)): \(summary)\" "
            + "width=\"\(format(width))\" height=\"\(format(height))\" viewBox=\"0 0 \(format(width)) \(format(height))\">"
            + "<rect class=\"track\" x=\"0\" y=\"0\" width=\"\(format(width))\" height=\"\(format(height))\"/>" + segments + "</svg>"
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }
}
