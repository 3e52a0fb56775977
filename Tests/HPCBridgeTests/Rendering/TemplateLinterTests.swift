import Testing
@testable import HPCBridge

@Suite("Template linting")
struct TemplateLinterTests {
    let linter = TemplateLinter(parameterNames: ["sample_id", "fastq_files", "reference"], referenceParameters: ["reference"])

    func messages(_ text: String, kind: TemplateLinter.Kind = .body) -> [String] {
        linter.lint(text, file: "t.mustache", kind: kind).map(\.description)
    }

    @Test("values in plain shell context are accepted")
    func plain() {
        #expect(messages("""
        sample={{params.sample_id}}
        run --in {{params.sample_id}} --ref={{ref.reference.fasta}}
        files=({{#params.fastq_files}}{{.}} {{/params.fastq_files}})
        echo "$sample" # a comment without values
        cat > x.R <<'EOF'
        print("no values in here")
        EOF
        echo 'quoted text' {{job.id}}
        """) == [])
    }

    @Test("a value inside quotes, a comment or a here-document is refused", arguments: [
        ("echo \"{{params.sample_id}}\"", "t.mustache:1:7: {{params.sample_id}} is inside \"...\""),
        ("echo '{{params.sample_id}}'", "t.mustache:1:7: {{params.sample_id}} is inside '...'"),
        ("run # sample {{params.sample_id}}", "t.mustache:1:14: {{params.sample_id}} is inside a # comment"),
        ("cat <<EOF\n{{params.sample_id}}\nEOF", "t.mustache:2:1: {{params.sample_id}} is inside a here-document"),
        ("cat <<-'EOF'\n\t{{params.sample_id}}\n\tEOF", "t.mustache:2:2: {{params.sample_id}} is inside a here-document"),
    ])
    func quotedContexts(text: String, expected: String) {
        let found = messages(text)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix(expected) == true, "\(found)")
    }

    @Test("after a here-document ends, plain context resumes")
    func heredocEnds() {
        #expect(messages("cat <<EOF\ntext\nEOF\necho {{params.sample_id}}\n") == [])
    }

    @Test("names are checked against the pipeline's parameters and the renderer's context", arguments: [
        ("{{params.sampel_id}}", "params.sampel_id is not a parameter of this pipeline (did you mean \"sample_id\"?)"),
        ("{{ref.reference.fastaa}}", "ref.reference.fastaa is not a reference field (did you mean \"fasta\"?)"),
        ("{{ref.sample_id.fasta}}", "ref.sample_id is not a parameter with x-reference"),
        ("{{jobs.id}}", "unknown name \"jobs.id\" (did you mean \"job\"?)"),
        ("{{run.workdir}}", "run.workdir does not exist"),
    ])
    func names(text: String, expected: String) {
        let found = messages(text)
        #expect(found.count == 1)
        #expect(found.first?.contains(expected) == true, "\(found)")
    }

    @Test("raw output, partials and delimiter changes are refused in bodies", arguments: [
        "{{{params.sample_id}}}", "{{&params.sample_id}}", "{{> other}}", "{{=<% %>=}}",
    ])
    func rawOutput(text: String) {
        #expect(messages(text).count == 1)
    }

    @Test("headers may only print checked directive values")
    func headers() {
        #expect(messages("#SBATCH --account={{{directives.account}}}\n{{#directives.qos}}#SBATCH --qos={{{directives.qos}}}\n{{/directives.qos}}", kind: .header) == [])
        #expect(messages("#SBATCH --job-name={{params.sample_id}}", kind: .header).count == 1)
        #expect(messages("#SBATCH --job-name={{{job.name}}}", kind: .header).count == 1)
    }

    @Test("unbalanced sections are reported")
    func sections() {
        #expect(messages("{{#params.fastq_files}}x").count == 1)
        #expect(messages("{{/params.fastq_files}}").count == 1)
    }

    @Test("the shipped templates lint clean")
    func shipped() throws {
        _ = try TemplateSet.load(directory: TestPaths.root + "/templates", catalog: PipelineCatalog.load(directory: TestPaths.catalog))
    }
}
