/// One step of a pipeline: one batch script, submitted as one scheduler job, or as one job array with a
/// task per sample-sheet row when it scatters.
///
/// A pipeline without `steps` in its catalog file has exactly one step, named `main`, made of its
/// top-level template, resources and outputs: a single job is the simplest run, not a separate model.
public struct PipelineStep: Sendable {
    /// What a step runs once per row of the run's sample sheet.
    public enum Scatter: String, Sendable, Hashable {
        /// One array task per row, in the sheet's order (task index = row index).
        case sampleSheet = "sample_sheet"
    }

    /// The name of the one step of a pipeline that declares no steps.
    public static let implicitName = "main"

    public let name: String
    public let title: String?
    /// The body template, relative to the templates directory.
    public let template: String
    public let resources: ResourcePolicy
    /// Steps that must complete before this one starts (Slurm `afterok` on their jobs).
    public let needs: [String]
    public let scatter: Scatter?
    /// Files the step promises, relative to the run directory; a scatter step's paths name the row
    /// (`{{row.sample_id}}`) so that every task writes its own.
    public let outputs: [Pipeline.Output]

    public init(name: String, title: String? = nil, template: String, resources: ResourcePolicy, needs: [String] = [],
                scatter: Scatter? = nil, outputs: [Pipeline.Output]) {
        self.name = name
        self.title = title
        self.template = template
        self.resources = resources
        self.needs = needs
        self.scatter = scatter
        self.outputs = outputs
    }

    /// Whether the step runs once per sample-sheet row.
    public var scatters: Bool { scatter != nil }
}
