import Foundation
import Mustache

/// The batch-script templates of a site, linted and compiled once.
///
/// A script is three templates rendered with one context: the scheduler's header (`slurm/header.mustache`
/// or `pbs/header.mustache`: directive lines only), the shared prologue (`shared/prologue.mustache`:
/// strict mode, run directory, exit-code file and manifest) and the pipeline's body. Composing them here,
/// instead of with Mustache partials, keeps each template checkable on its own.
public struct TemplateSet: Sendable {
    public let directory: String
    let headers: [ClusterConfig.Scheduler: CompiledTemplate]
    let prologue: CompiledTemplate
    /// The script an array job submits: it runs the task's own script, written before submission.
    let arrayLauncher: CompiledTemplate
    let bodies: [String: CompiledTemplate]

    static let prologuePath = "shared/prologue.mustache"
    static let arrayLauncherPath = "shared/array-launcher.mustache"
    static func headerPath(_ scheduler: ClusterConfig.Scheduler) -> String { "\(scheduler.rawValue)/header.mustache" }

    /// Loads and lints the headers, the prologue and the body of every pipeline of `catalog`.
    public static func load(directory: String, catalog: PipelineCatalog) throws -> TemplateSet {
        var issues: [FileIssue] = []
        func parse(_ relative: String, kind: TemplateLinter.Kind, linter: TemplateLinter = TemplateLinter()) -> CompiledTemplate? {
            let path = (directory as NSString).appendingPathComponent(relative)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                issues.append(FileIssue(SourceLocation(file: path), "cannot read this template; it must exist under the templates directory"))
                return nil
            }
            let lintIssues = linter.lint(text, file: path, kind: kind)
            issues.append(contentsOf: lintIssues)
            do {
                return try Self.compile(text)
            } catch let error as CompiledTemplate.CompileError {
                // Only what the linter has not already reported: a construct this renderer lacks.
                if lintIssues.isEmpty { issues.append(FileIssue(SourceLocation(file: path), error.description)) }
            } catch let error as MustacheTemplate.ParserError {
                issues.append(FileIssue(SourceLocation(file: path, line: error.context.lineNumber, column: error.context.columnNumber),
                                        "Mustache syntax error: \(error.error)"))
            } catch {
                issues.append(FileIssue(SourceLocation(file: path), "Mustache syntax error: \(error)"))
            }
            return nil
        }
        var headers: [ClusterConfig.Scheduler: CompiledTemplate] = [:]
        for scheduler in ClusterConfig.Scheduler.allCases {
            headers[scheduler] = parse(headerPath(scheduler), kind: .header)
        }
        let prologue = parse(prologuePath, kind: .shared)
        let arrayLauncher = parse(arrayLauncherPath, kind: .shared)
        var bodies: [String: CompiledTemplate] = [:]
        for pipeline in catalog.sorted {
            for (index, step) in pipeline.steps.enumerated() {
                var linter = TemplateLinter(
                    parameterNames: Set(pipeline.parameters.root.properties.keys),
                    referenceParameters: Set(pipeline.referenceParameters.map(\.name)))
                if !pipeline.isSingleJob { linter.step = pipeline.names(forStep: index) }
                // A template shared by two steps is linted for each: each may see different names.
                if let body = parse(step.template, kind: .body, linter: linter) { bodies[step.template] = body }
            }
        }
        guard issues.isEmpty, let prologue, let arrayLauncher else { throw LoadError(issues) }
        return TemplateSet(directory: directory, headers: headers, prologue: prologue, arrayLauncher: arrayLauncher, bodies: bodies)
    }

    /// Template text checked by swift-mustache's parser (its syntax errors come with line and column),
    /// then compiled so that `{{value}}` is always a quoted shell word.
    static func compile(_ text: String) throws -> CompiledTemplate {
        _ = try parse(text)
        return try CompiledTemplate(text, escaping: .shell)
    }

    /// Template text parsed by swift-mustache with the shell content type: the reference the compiled
    /// templates are tested against.
    static func parse(_ text: String) throws -> MustacheTemplate {
        _ = ShellContentType.registered
        return try MustacheTemplate(string: "{{%CONTENT_TYPE:\(ShellContentType.name)}}" + text)
    }
}
