import Foundation
import Testing
@testable import HPCBridge

/// A run's scripts: one per step, a launcher plus one script per row for a scatter step, deterministic,
/// and runnable: the tasks and the joint step are executed with bash here, in the order Slurm would.
@Suite("Rendering a run: steps, array tasks, outputs across steps")
struct RunRenderingTests {
    /// The cohort test pipeline of PipelineStepsTests, loaded with its templates in a scratch site.
    func renderer() throws -> (ScriptRenderer, Pipeline, String) {
        let directory = try PipelineStepsTests.scratchSite()
        let catalog = try PipelineCatalog.load(directory: directory + "/catalog")
        let templates = try TemplateSet.load(directory: directory + "/templates", catalog: catalog)
        return (ScriptRenderer(templates: templates, references: ReferenceRegistry(entries: [:])), catalog.pipelines["cohort"]!, directory)
    }

    static let runID = UUID(uuidString: "7d0e2f43-1c55-4c1e-9a0b-2b8f7f0f5a11")!

    func request(_ pipeline: Pipeline, root: String, scheduler: ClusterConfig.Scheduler = .slurm) throws -> RunScriptRequest {
        let sheet = try SampleSheet.read(.string("sample_id,fastq_r1\nS1,/d/s1.fq\nS2,/d/it's here.fq\nS3,/d/$(touch pwned).fq\n"),
                                         schema: pipeline.sampleSheet!, at: JSONPointer(tokens: ["samples"])).get()
        let group = ResearchGroup(name: "lab", description: nil, cluster: "dev", account: "lab", partition: "debug", qos: nil,
                                  runRoot: root + "/runs", allowedPipelines: ["cohort"], inputRoots: nil)
        return RunScriptRequest(runID: Self.runID, pipeline: pipeline, parameters: ["cohort": "trio"], samples: sheet, group: group,
                                description: "three samples", resources: [:], scheduler: scheduler)
    }

    @Test("a scatter step is a launcher and one script per row; the joint step sees every row's output")
    func layout() async throws {
        let (renderer, pipeline, root) = try renderer()
        let run = try renderer.render(try request(pipeline, root: root))
        let runDirectory = root + "/runs/" + Self.runID.uuidString.lowercased()
        #expect(run.runDirectory == runDirectory)
        #expect(run.steps.map(\.name) == ["call", "joint"])
        let call = run.steps[0], joint = run.steps[1]
        #expect(call.id == ScriptRenderer.stepID(run: Self.runID, step: "call") && call.id != joint.id)
        #expect(call.tasks.map(\.sampleID) == ["S1", "S2", "S3"])
        #expect(call.tasks[1].scriptPath == runDirectory + "/steps/call/tasks/1.sh")
        #expect(call.tasks[1].outputs == ["gvcf": "samples/S2.g.vcf"])
        #expect(call.script.text.contains("#SBATCH --output=\(runDirectory)/steps/call/tasks/%a.stdout.log"))
        #expect(call.script.text.contains("#SBATCH --comment=hpcbridge:\(call.id.uuidString.lowercased())"))
        #expect(call.script.text.contains("#SBATCH --cpus-per-task=1"))
        #expect(call.script.stdoutPath == runDirectory + "/steps/call/tasks/%a.stdout.log")
        #expect(call.tasks[1].text.hasPrefix("#!/bin/bash\nset -euo pipefail"), "a task script has no directives")
        #expect(call.tasks[1].text.contains("r1='/d/it'\\''s here.fq'"))
        #expect(joint.needs == ["call"])
        #expect(joint.script.text.contains("inputs=('samples/S1.g.vcf' 'samples/S2.g.vcf' 'samples/S3.g.vcf' )"))
        #expect(joint.script.text.contains("#SBATCH --cpus-per-task=2"))
        #expect(joint.script.stderrPath == runDirectory + "/steps/joint/stderr.log")
        #expect(joint.script.outputs == ["vcf": "trio.vcf"])
        let pbs = try renderer.render(try request(pipeline, root: root, scheduler: .pbs))
        #expect(pbs.steps[0].script.text.contains("#PBS -o \(runDirectory)/steps/call/tasks/^array_index^.stdout.log"))
        for script in [call.script.text, joint.script.text, pbs.steps[0].script.text] + call.tasks.map(\.text) {
            let check = try await HPCBridgeTests.run("/bin/bash", ["-n"], input: Data(script.utf8))
            #expect(check.status == 0, "bash -n: \(check.stderr)")
        }
    }

    @Test("the injection corpus in a sample-sheet cell stays one inert word when the task script runs")
    func injectionInCells() async throws {
        let (renderer, pipeline, root) = try renderer()
        let marker = root + "/pwned"
        let corpus = injectionCorpus(marker: marker).filter { SchemaValidator.firstControlCharacter(in: $0.value) == nil && !$0.value.contains("\0") }
        // Validation is bypassed (rows built directly) so that every payload reaches the renderer.
        let rows: [JSONValue] = corpus.enumerated().map { index, entry in
            ["sample_id": .string("S\(index)"), "fastq_r1": .string(entry.value)]
        }
        var request = try request(pipeline, root: root)
        request.samples = SampleSheet(rows: rows)
        let run = try renderer.render(request)
        let call = run.steps[0]
        try FileManager.default.createDirectory(atPath: run.runDirectory + "/samples", withIntermediateDirectories: true)
        for task in call.tasks { try TestPaths.write(task.text, to: task.scriptPath) }
        try TestPaths.write(call.script.text, to: call.directory + "/launcher.sh")
        for task in call.tasks {
            let result = try await HPCBridgeTests.run("/bin/bash", [call.directory + "/launcher.sh"], environment: ["SLURM_ARRAY_TASK_ID": String(task.index), "PATH": "/usr/bin:/bin"])
            #expect(result.status == 0, "\(corpus[task.index].name): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: marker), "\(corpus[task.index].name) ran as shell")
        }
        #expect(corpus.count >= 15)
    }

    @Test("the same run renders the same bytes")
    func deterministic() async throws {
        let (renderer, pipeline, root) = try renderer()
        #expect(try renderer.render(try request(pipeline, root: root)) == renderer.render(try request(pipeline, root: root)))
    }

    @Test("the scripts run: each task through the launcher by its index, then the joint step over every row's file")
    func runsWithBash() async throws {
        let (renderer, pipeline, root) = try renderer()
        let run = try renderer.render(try request(pipeline, root: root))
        let call = run.steps[0], joint = run.steps[1]
        try FileManager.default.createDirectory(atPath: run.runDirectory + "/samples", withIntermediateDirectories: true)
        for task in call.tasks { try TestPaths.write(task.text, to: task.scriptPath) }
        try TestPaths.write(call.script.text, to: call.directory + "/launcher.sh")
        try TestPaths.write(joint.script.text, to: joint.directory + "/script.sh")
        for task in call.tasks {
            let result = try await HPCBridgeTests.run("/bin/bash", [call.directory + "/launcher.sh"], environment: ["SLURM_ARRAY_TASK_ID": String(task.index), "PATH": "/usr/bin:/bin"])
            #expect(result.status == 0, "task \(task.index): \(result.stderr)")
            #expect(try String(contentsOfFile: task.exitCodePath, encoding: .utf8) == "0\n")
            let manifest = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: task.manifestPath)))
            #expect(manifest["outputs"]?.arrayValue?.first?["exists"] == true)
        }
        #expect(!FileManager.default.fileExists(atPath: run.runDirectory + "/pwned"), "a sample-sheet cell ran as shell")
        let notATask = try await HPCBridgeTests.run("/bin/bash", [call.directory + "/launcher.sh"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(notATask.status == 2 && notATask.stderr.contains("only runs as a job array"))
        try FileManager.default.createDirectory(atPath: joint.directory, withIntermediateDirectories: true)
        let result = try await HPCBridgeTests.run("/bin/bash", [joint.directory + "/script.sh"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(result.status == 0, "joint: \(result.stderr)")
        #expect(try String(contentsOfFile: run.runDirectory + "/trio.vcf", encoding: .utf8) == "S1\nS2\nS3\n")
        #expect(try String(contentsOfFile: joint.script.exitCodePath, encoding: .utf8) == "0\n")
    }
}
