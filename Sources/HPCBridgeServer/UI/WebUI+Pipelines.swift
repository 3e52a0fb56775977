import Foundation
import HPCBridge
import Hummingbird

/// The catalog's pages: every pipeline, and one pipeline's documentation, its parameter table and a
/// submit form, all generated from the pipeline's schema (`SchemaForm`). A submission goes through the
/// same `JobService` call as `POST /v1/jobs` or `/v1/runs`, and a refusal shows each of the service's
/// messages beside the field it is about.
extension WebUI {
    /// The form's own fields, apart from the pipeline's parameters (which may not start with `_`).
    enum FormField {
        static let researchGroup = "_research_group"
        static let description = "_description"
        static let samplesFile = "_samples_file"
        static let samplesText = "_samples_text"
        static let idempotencyKey = "_idempotency_key"
        static let resources: [(name: String, key: String, label: String, placeholder: String, hint: String)] = [
            ("_cpus", "cpus", "CPUs", "4", "Whole number of CPU cores."),
            ("_memory", "memory", "Memory", "16G", "Such as 512M, 16G or 1T."),
            ("_time_limit", "time_limit", "Time limit", "12:00:00", "HH:MM:SS or D-HH:MM:SS."),
        ]
    }

    /// What a refused submission sent and what was wrong with it, to show the form again.
    struct Submitted {
        var form: WebForm
        var errors: [ValidationError]
        var message: String?
    }

    func pipelinesPage(_ visitor: Visitor) -> Response {
        let pipelines: [[String: Any]] = service.site.catalog.sorted.map { pipeline in
            ["name": pipeline.name, "version": pipeline.version, "title": pipeline.title ?? "",
             "kind": pipeline.isSingleJob ? "one job" : "a run of \(pipeline.steps.count) step\(pipeline.steps.count == 1 ? "" : "s") over a sample sheet"]
        }
        return html("pipelines", ["visitor": visitor.layout("Pipelines"), "pipelines": pipelines])
    }

    func pipelinePage(_ name: String, _ visitor: Visitor, submitted: Submitted?) throws -> Response {
        guard let pipeline = service.site.catalog.pipelines[name] else { throw JobService.Refusal.notFound("no pipeline \"\(name)\" in the catalog") }
        let fields = SchemaForm.fields(of: pipeline.parameters)
        let sampleFields = pipeline.sampleSheet.map(SchemaForm.fields(of:)) ?? []
        let isRun = !pipeline.isSingleJob
        let errors = submitted?.errors ?? []
        let (byField, other) = SchemaForm.errorsByField(errors.filter { $0.pointer.tokens.first == "parameters" }, fields: fields, prefix: "/parameters")
        var otherErrors = other
        var sampleErrors: [String] = []
        var resourceErrors: [String: [String]] = [:]
        for error in errors where error.pointer.tokens.first != "parameters" {
            let tokens = error.pointer.tokens
            if tokens.first == "samples" {
                sampleErrors.append(tokens.count > 1 ? "\(JSONPointer(tokens: Array(tokens.dropFirst()))): \(error.message)" : error.message)
            } else if tokens.first == "resources", let resource = FormField.resources.first(where: { tokens.last == $0.key }) {
                resourceErrors[resource.name, default: []].append(error.message)
            } else {
                otherErrors.append(error.pointer == .root ? error.message : error.description)
            }
        }
        if let message = submitted?.message { otherErrors.append(message) }
        // The summary at the top of the page: every message, each linked to its field.
        var summaryErrors: [[String: Any]] = []
        for field in fields { for message in byField[field.name] ?? [] { summaryErrors.append(["label": field.label, "message": message, "target": "f-\(field.name)"]) } }
        for message in sampleErrors { summaryErrors.append(["label": "sample sheet", "message": message, "target": "f-samples_text"]) }
        for resource in FormField.resources { for message in resourceErrors[resource.name] ?? [] { summaryErrors.append(["label": resource.label, "message": message, "target": "f-\(resource.name)"]) } }
        for message in otherErrors { summaryErrors.append(["message": message]) }
        let sent = submitted?.form
        let group = visitor.group ?? sent?.value(FormField.researchGroup)

        let fieldRows: [[String: Any]] = fields.map { field in
            Self.fieldRow(field, sent: sent.map { form in form.value(field.name) ?? "" }, submitted: sent != nil, errors: byField[field.name] ?? [])
        }
        var values: [String: Any] = [
            "visitor": visitor.layout("Pipelines"), "csrf": visitor.session.csrfToken, "isAdmin": visitor.principal == .admin,
            "name": pipeline.name, "version": pipeline.version, "isRun": isRun,
            "paragraphs": pipeline.description.components(separatedBy: "\n\n").map { $0.replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            "steps": pipeline.steps.map { ["name": $0.name, "title": $0.title ?? ""] },
            "fields": fieldRows,
            "hasSampleFields": !sampleFields.isEmpty,
            "sampleFields": sampleFields.map { Self.fieldRow($0, sent: nil, submitted: false, errors: []) },
            "sampleColumns": sampleFields.map(\.name).joined(separator: ", "),
            "samplesText": sent?.value(FormField.samplesText) ?? "",
            "samplesHaveErrors": !sampleErrors.isEmpty, "sampleErrors": sampleErrors,
            "resourceFields": isRun ? [] : FormField.resources.map { resource in
                ["name": resource.name, "label": resource.label, "placeholder": resource.placeholder, "hint": resource.hint,
                 "value": sent?.value(resource.name) ?? "", "hasErrors": resourceErrors[resource.name] != nil,
                 "errors": resourceErrors[resource.name] ?? []] as [String: Any]
            },
            "descriptionValue": sent?.value(FormField.description) ?? "",
            "groupOptions": service.site.config.groups.keys.sorted().map { ["value": $0, "selected": $0 == group] as [String: Any] },
            "hasFormErrors": !errors.isEmpty || submitted?.message != nil,
            "summaryErrors": summaryErrors,
            "idempotencyKey": WebSessions.randomToken(),
        ]
        if let title = pipeline.title { values["title"] = title }
        if isRun {
            values["graphSVG"] = RunGraphSVG.svg(graph: pipeline.graph, nodes: pipeline.steps.map {
                RunGraphSVG.Node(name: $0.name, title: $0.title, state: "unknown", done: nil, total: nil, href: nil)
            })
        }
        return html("pipeline", values, status: submitted == nil ? .ok : .unprocessableContent)
    }

    /// One parameter as the table and the form show it; `sent` is what the refused form held.
    static func fieldRow(_ field: SchemaForm.Field, sent: String?, submitted: Bool, errors: [String]) -> [String: Any] {
        let value = sent ?? ""
        var row: [String: Any] = [
            "name": field.name, "label": field.label, "description": field.description ?? "", "required": field.required,
            "constraints": field.constraints, "inputType": field.inputType, "typeLabel": Self.typeLabel(field.kind),
            "isCheckbox": field.kind == .boolean, "isSelect": field.inputType == "select", "isTextarea": field.inputType == "textarea",
            "isInput": !["checkbox", "select", "textarea"].contains(field.inputType),
            "value": value, "hasErrors": !errors.isEmpty, "errors": errors,
            "checked": submitted ? ["on", "true"].contains(value.lowercased()) : field.defaultText == "true",
        ]
        if case .choice(let options) = field.kind {
            row["options"] = options.map { ["value": $0, "selected": $0 == value] as [String: Any] }
        }
        if let text = field.defaultText {
            row["defaultText"] = text
            if field.kind != .boolean, field.inputType != "select", field.inputType != "textarea" { row["placeholder"] = text }
        }
        // Numbers are typed into text inputs: a browser's number input sends nothing for "twelve", and
        // the default would then apply silently; as text, the service's own message says what is wrong.
        if field.kind == .integer || field.kind == .number {
            row["inputType"] = "text"
            row["inputMode"] = field.kind == .integer ? "numeric" : "decimal"
        }
        return row
    }

    static func typeLabel(_ kind: SchemaForm.Field.Kind) -> String {
        switch kind {
        case .text: "text"
        case .integer: "whole number"
        case .number: "number"
        case .boolean: "yes or no"
        case .choice(let options): "one of " + options.joined(separator: ", ")
        case .json: "JSON"
        }
    }

    /// `POST /ui/pipelines/{name}`: the form as a job or run request, through the API's own call.
    func submit(_ request: Request, pipeline name: String) async throws -> Response {
        let visitor: Visitor, form: WebForm
        switch await checkedPost(request, signInTarget: "/ui/sign-in?next=" + Self.queryEscaped("/ui/pipelines/\(name)")) {
        case .accepted(let signedIn, let sent): (visitor, form) = (signedIn, sent)
        case .answer(let response): return response
        }
        guard let pipeline = service.site.catalog.pipelines[name] else { return refusalPage(JobService.Refusal.notFound("no pipeline \"\(name)\""), visitor: visitor) }
        let fields = SchemaForm.fields(of: pipeline.parameters)
        let parameters = SchemaForm.parameters(from: form.pairs.filter { !$0.name.hasPrefix("_") }, fields: fields)
        guard let group = visitor.group ?? form.value(FormField.researchGroup).flatMap({ $0.isEmpty ? nil : $0 }) else {
            return try pipelinePage(name, visitor, submitted: Submitted(form: form, errors: [], message: "choose the research group to submit for"))
        }
        let description = form.value(FormField.description).flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        var resources: [String: JSONValue] = [:]
        for resource in FormField.resources {
            guard let text = form.value(resource.name)?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { continue }
            resources[resource.key] = resource.key == "cpus" ? (Int(text).map { .number(Double($0)) } ?? .string(text)) : .string(text)
        }
        let base = JobRequest(pipelineName: name, parameters: parameters, researchGroup: group, description: description,
                              resources: resources.isEmpty ? nil : .object(resources))
        // A second click on the same form page is the same request (the key is the page's), not a second job.
        let key = form.value(FormField.idempotencyKey).flatMap { $0.isEmpty ? nil : "web-" + $0 }
        do {
            if pipeline.isSingleJob {
                let submitted = try await service.submit(base, by: visitor.principal, idempotencyKey: key)
                return .redirect(to: "/ui/jobs/\(submitted.job.id.uuidString.lowercased())", type: .normal)
            }
            let file = form.fields.first { $0.name == FormField.samplesFile && !$0.value.isEmpty }?.value
            let samples = file ?? form.value(FormField.samplesText) ?? ""
            guard !samples.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                return try pipelinePage(name, visitor, submitted: Submitted(form: form, errors: [ValidationError(pointer: JSONPointer(tokens: ["samples"]),
                    message: "a run needs a sample sheet: upload a CSV file or paste its text")]))
            }
            let run = RunRequest(base: base, samples: .string(samples))
            let submitted = try await service.submitRun(run, by: visitor.principal, idempotencyKey: key)
            return .redirect(to: "/ui/runs/\(submitted.run.run.id.uuidString.lowercased())", type: .normal)
        } catch JobService.Refusal.invalid(let errors) {
            var shown = form
            // A file's text goes back in the paste box, so a corrected sheet need not be chosen again.
            if let file = form.fields.first(where: { $0.name == FormField.samplesFile && !$0.value.isEmpty }) {
                shown.fields.removeAll { $0.name == FormField.samplesText }
                shown.fields.append(WebForm.Field(name: FormField.samplesText, value: file.value))
            }
            return try pipelinePage(name, visitor, submitted: Submitted(form: shown, errors: errors))
        } catch {
            return refusalPage(error, visitor: visitor)
        }
    }
}
