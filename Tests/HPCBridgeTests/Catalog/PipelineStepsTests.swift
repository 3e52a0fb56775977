import Foundation
import Testing
@testable import HPCBridge

/// Pipelines of several steps over a sample sheet: what the catalog accepts, and every mistake
/// `hpcbridge validate` must name with file, line and column.
@Suite("Catalog: steps, needs, scatter and sample sheets")
struct PipelineStepsTests {
    static let cohort = """
    name: cohort
    version: 1.0.0
    description: Per-sample calls as an array, then one joint step.
    resources:
      defaults: {cpus: 1, memory: 1G, time_limit: "00:10:00"}
      bounds:
        cpus: {min: 1, max: 4}
        memory: {max: 4G}
        time_limit: {max: "01:00:00"}
    sample_sheet:
      type: object
      additionalProperties: false
      required: [sample_id, fastq_r1]
      properties:
        sample_id: {type: string}
        fastq_r1: {type: string, format: absolute-path}
        depth: {type: integer, minimum: 1, default: 30}
    steps:
      - name: call
        template: pipelines/call.mustache
        scatter: sample_sheet
        outputs:
          - name: gvcf
            path: "samples/{{row.sample_id}}.g.vcf"
            description: per-sample calls
      - name: joint
        template: pipelines/joint.mustache
        needs: [call]
        resources:
          defaults: {cpus: 2, memory: 2G, time_limit: "00:20:00"}
          bounds: {cpus: {max: 2}, memory: {max: 2G}, time_limit: {max: "00:20:00"}}
        outputs:
          - name: vcf
            path: "{{params.cohort}}.vcf"
            description: joint calls
    parameters:
      type: object
      additionalProperties: false
      required: [cohort]
      properties:
        cohort: {type: string}
    """
    static let callTemplate = "sample={{row.sample_id}}\nr1={{row.fastq_r1}}\nout={{steps.call.gvcf}}\necho \"$sample\" > \"$out\"\n"
    static let jointTemplate = "inputs=({{#rows}}{{steps.call.gvcf}} {{/rows}})\nname={{params.cohort}}\ncat \"${inputs[@]}\" > \"$name.vcf\"\n"

    /// Writes the pipeline and its templates into a scratch site, loads catalog and templates together
    /// (as `hpcbridge validate` does) and returns the problems, paths relative to the scratch directory.
    func problems(_ pipeline: String, call: String = callTemplate, joint: String = jointTemplate) throws -> [String] {
        let directory = try Self.scratchSite(pipeline, call: call, joint: joint)
        do {
            let catalog = try PipelineCatalog.load(directory: directory + "/catalog")
            _ = try TemplateSet.load(directory: directory + "/templates", catalog: catalog)
            return []
        } catch let error as LoadError {
            return error.issues.map { $0.description.replacingOccurrences(of: directory + "/", with: "") }
        }
    }

    /// A scratch site directory with `catalog/cohort.yaml`, the two step templates and the shipped
    /// headers and shared templates under `templates/`.
    static func scratchSite(_ pipeline: String = cohort, call: String = callTemplate, joint: String = jointTemplate) throws -> String {
        let directory = try TestPaths.scratchDirectory("steps")
        try TestPaths.write(pipeline, to: directory + "/catalog/cohort.yaml")
        try TestPaths.write(call, to: directory + "/templates/pipelines/call.mustache")
        try TestPaths.write(joint, to: directory + "/templates/pipelines/joint.mustache")
        for shipped in ["slurm/header.mustache", "pbs/header.mustache", "shared/prologue.mustache", "shared/array-launcher.mustache"] {
            try TestPaths.write(try String(contentsOfFile: TestPaths.root + "/templates/" + shipped, encoding: .utf8), to: directory + "/templates/" + shipped)
        }
        return directory
    }

    func pipeline(_ text: String = cohort) throws -> Pipeline {
        let directory = try TestPaths.scratchDirectory("steps")
        try TestPaths.write(text, to: directory + "/cohort.yaml")
        return try PipelineCatalog.loadPipeline(path: directory + "/cohort.yaml")
    }

    @Test("a cohort pipeline loads: steps in order, the graph, the row schema")
    func loads() throws {
        #expect(try problems(Self.cohort) == [])
        let cohort = try pipeline()
        #expect(cohort.steps.map(\.name) == ["call", "joint"])
        #expect(cohort.steps[0].scatters && !cohort.steps[1].scatters)
        #expect(cohort.steps[0].resources.defaults.cpus == 1, "falls back on the pipeline's resources")
        #expect(cohort.steps[1].resources.defaults.cpus == 2)
        #expect(cohort.graph.topologicalOrder == [0, 1])
        #expect(cohort.graph.ancestors(of: 1) == [0])
        #expect(cohort.graph.descendants(of: 0) == [1])
        #expect(!cohort.isSingleJob)
        #expect(cohort.document["steps"]?.arrayValue?[1]["needs"] == ["call"])
        #expect(cohort.document["sample_sheet"]?["required"] == ["sample_id", "fastq_r1"])
        #expect(cohort.document["resources"] == nil, "a run's resources are per step")
    }

    @Test("a pipeline without steps is one step named main, a single job as before")
    func singleJob() throws {
        let gatk = try PipelineCatalog.loadPipeline(path: TestPaths.catalog + "/gatk_variant_calling.yaml")
        #expect(gatk.steps.map(\.name) == ["main"])
        #expect(gatk.isSingleJob)
        #expect(gatk.template == "pipelines/gatk_variant_calling.mustache")
        #expect(gatk.document["resources"] != nil && gatk.document["outputs"] != nil)
    }

    @Test("catalog mistakes are named with file, line and column", arguments: [
        ("needs: [call]", "needs: [cal]", "catalog/cohort.yaml:28:13: needs \"cal\", which is not a step of this pipeline (did you mean \"call\"?); steps: call, joint"),
        ("    scatter: sample_sheet\n", "    scatter: sample_sheet\n    needs: [joint]\n",
         "catalog/cohort.yaml:19:5: the steps form a cycle (\"call\" → \"joint\" → \"call\"), so none of them could ever start"),
        ("  - name: joint", "  - name: call", "catalog/cohort.yaml:26:5: step \"call\" is declared twice; step names must be unique"),
        ("    scatter: sample_sheet", "    scatter: samples", "catalog/cohort.yaml:21:5: \"scatter\" must be sample_sheet: one array task per row of the run's sample sheet"),
        ("path: \"samples/{{row.sample_id}}.g.vcf\"", "path: \"samples/{{row.sample}}.g.vcf\"",
         "catalog/cohort.yaml:24:9: uses {{row.sample}}, but sample is not a field of the sample sheet (did you mean \"sample_id\"?); fields: depth, fastq_r1, sample_id"),
        ("path: \"samples/{{row.sample_id}}.g.vcf\"", "path: \"samples/all.g.vcf\"",
         "catalog/cohort.yaml:24:9: is the same for every task of scatter step \"call\"; name the row in it, e.g. {{row.sample_id}}/all.g.vcf"),
        ("path: \"{{params.cohort}}.vcf\"", "path: \"{{row.sample_id}}.vcf\"",
         "catalog/cohort.yaml:34:9: uses {{row.sample_id}}, but step \"joint\" does not scatter over the sample sheet, so it has no row"),
        ("  required: [sample_id, fastq_r1]", "  required: [fastq_r1]",
         "catalog/cohort.yaml:10:1: the row schema must declare sample_id under properties and required: it names each row's task, outputs and logs"),
        ("steps:\n", "template: pipelines/call.mustache\nsteps:\n",
         "catalog/cohort.yaml:18:1: \"template\" a pipeline with steps names a template per step, not one at the top; move it into its step"),
    ])
    func catalogMistakes(original: String, replacement: String, expected: String) throws {
        let text = Self.cohort.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.cohort, "the replacement did not apply")
        let found = try problems(text)
        #expect(found.contains(expected), "got:\n\(found.joined(separator: "\n"))")
    }

    @Test("a scatter step without a sample sheet is refused")
    func scatterWithoutSheet() throws {
        let start = Self.cohort.range(of: "sample_sheet:\n")!.lowerBound, end = Self.cohort.range(of: "steps:\n")!.lowerBound
        var text = Self.cohort
        text.removeSubrange(start..<end)
        let found = try problems(text)
        #expect(found.contains { $0.hasSuffix("scatters over the sample sheet, but the pipeline declares no sample_sheet row schema") }, "got \(found)")
    }

    @Test("template mistakes are named with file, line and column", arguments: [
        (callTemplate.replacingOccurrences(of: "{{row.fastq_r1}}", with: "{{row.fastq_r2}}"), jointTemplate,
         "templates/pipelines/call.mustache:2:4: row.fastq_r2 is not a field of the sample sheet (did you mean \"fastq_r1\"?); fields: depth, fastq_r1, sample_id"),
        (callTemplate, jointTemplate.replacingOccurrences(of: "{{steps.call.gvcf}}", with: "{{steps.call.vcf}}"),
         "templates/pipelines/joint.mustache:1:18: steps.call.vcf is not an output of step call (did you mean \"gvcf\"?); it declares gvcf"),
        (callTemplate, jointTemplate.replacingOccurrences(of: "{{#rows}}{{steps.call.gvcf}} {{/rows}}", with: "{{steps.call.gvcf}}"),
         "templates/pipelines/joint.mustache:1:9: steps.call.gvcf has one path per sample (step call scatters); use it inside {{#rows}}...{{/rows}}"),
        (callTemplate + "x={{steps.joint.vcf}}\n", jointTemplate,
         "templates/pipelines/call.mustache:5:3: steps.joint is neither this step nor one it needs; add it to needs to use its outputs (steps known here: call)"),
        (callTemplate, jointTemplate + "s={{row.sample_id}}\n",
         "templates/pipelines/joint.mustache:4:3: unknown name \"row.sample_id\" (did you mean \"rows\"?); templates can use directives, group, job, outputs, params, pipeline, ref, resources, rows, run, scheduler, steps"),
    ])
    func templateMistakes(call: String, joint: String, expected: String) throws {
        let found = try problems(Self.cohort, call: call, joint: joint)
        #expect(found.contains(expected), "got:\n\(found.joined(separator: "\n"))")
    }
}
