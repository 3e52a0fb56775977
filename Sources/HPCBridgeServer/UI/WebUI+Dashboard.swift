import Foundation
import HPCBridge
import Hummingbird

/// The group's dashboard: job counts by state, and its runs and jobs, newest first, filtered by state,
/// pipeline and creation date, a page at a time.
extension WebUI {
    static let runsPerPage = 10
    static let jobsPerPage = 25

    func dashboard(_ request: Request, _ visitor: Visitor) async throws -> Response {
        let query = request.uri.queryParameters
        func text(_ name: String) -> String? { query.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        let state = text("state").flatMap(JobState.init(rawValue:))
        let pipeline = text("pipeline")
        let group = visitor.group ?? text("group")
        var filterError: String?
        var since: Date?
        if let day = text("since") {
            since = WebText.day(day)
            if since == nil { filterError = "\"created since\" must be a date such as 2026-12-01" }
        }
        let jobFilter = JobStore.Filter(researchGroup: group, states: state.map { [$0] }, pipeline: pipeline, createdAfter: since)
        let jobPage = try await service.jobIDs(jobFilter, after: text("jobs_after").flatMap(JobCursor.init(token:)), limit: Self.jobsPerPage, for: visitor.principal)
        let found = try await service.store.jobsWithTransitions(ids: jobPage.ids)
        let jobs = jobPage.ids.compactMap { found[$0]?.job }

        // Runs have no state column (a run's state is its steps'): pages are read until enough match.
        var runs: [JobService.RunView] = []
        var runsCursor = text("runs_after").flatMap(JobCursor.init(token:))
        var runsNext: JobCursor?
        var pagesRead = 0
        reading: while pagesRead < 20 {
            let page = try await service.runs(JobStore.RunFilter(researchGroup: visitor.group == nil ? group : nil, pipeline: pipeline),
                                              after: runsCursor, limit: Self.runsPerPage, for: visitor.principal)
            pagesRead += 1
            for view in page.runs {
                if let since, view.run.createdAt < since { runsNext = nil; break reading }
                if let state, view.state != state { continue }
                runs.append(view)
                if runs.count == Self.runsPerPage {
                    runsNext = JobCursor(createdAt: view.run.createdAt, id: view.run.id)
                    break reading
                }
            }
            guard let next = page.next else { runsNext = nil; break }
            runsCursor = next
            runsNext = next
        }

        let counts = try await service.storeCall { try $0.stateCounts() }
        let catalog = service.site.catalog

        var keep: [(String, String)] = []
        if let group, visitor.group == nil { keep.append(("group", group)) }
        if let state { keep.append(("state", state.rawValue)) }
        if let pipeline { keep.append(("pipeline", pipeline)) }
        if let day = text("since"), since != nil { keep.append(("since", day)) }
        func link(_ extra: (String, String)) -> String {
            (keep + [extra]).map { "\($0.0)=\(Self.queryEscaped($0.1))" }.joined(separator: "&")
        }
        var values: [String: Any] = [
            "visitor": visitor.layout("Dashboard"),
            "groupLabel": group.map { "Research group \($0)" } ?? "Every research group",
            "isAdmin": visitor.principal == .admin,
            "groupQuery": group.flatMap { visitor.group == nil ? "&group=\(Self.queryEscaped($0))" : nil } ?? "",
            "eventsQuery": "",
            "counts": WebText.stateBadges(counts) { group == nil || $0.group == group },
            "stateOptions": JobState.allCases.map { ["value": $0.rawValue, "selected": $0 == state] as [String: Any] },
            "pipelineOptions": catalog.sorted.map { ["value": $0.name, "selected": $0.name == pipeline] as [String: Any] },
            "groupOptions": service.site.config.groups.keys.sorted().map { ["value": $0, "selected": $0 == group] as [String: Any] },
            "since": since == nil ? "" : (text("since") ?? ""),
            "hasRuns": !runs.isEmpty,
            "runs": runs.map(Self.runRow),
            "hasJobs": !jobs.isEmpty,
            "jobs": jobs.map(Self.jobRow),
        ]
        if let filterError { values["filterError"] = filterError }
        if let runsNext { values["runsNext"] = link(("runs_after", runsNext.token)) }
        if let next = jobPage.next { values["jobsNext"] = link(("jobs_after", next.token)) }
        return html("dashboard", values)
    }

    static func runRow(_ view: JobService.RunView) -> [String: Any] {
        let (done, total) = WebText.taskProgress(view)
        var row: [String: Any] = [
            "id": view.run.id.uuidString.lowercased(), "shortID": WebText.shortID(view.run.id), "pipeline": view.run.pipelineName,
            "state": view.state.rawValue, "samples": view.sampleCount, "done": done, "total": max(total, 1),
            "created": WebText.time(view.run.createdAt), "createdISO": WebText.iso(view.run.createdAt),
        ]
        if let description = view.run.description { row["description"] = description }
        return row
    }

    static func jobRow(_ job: Job) -> [String: Any] {
        var row: [String: Any] = [
            "id": job.id.uuidString.lowercased(), "shortID": WebText.shortID(job.id), "pipeline": job.pipelineName, "state": job.state.rawValue,
            "exit": job.exitCode.map(String.init) ?? job.exitSignal.map { "signal \($0)" } ?? "", "native": job.nativeJobID ?? "",
            "created": WebText.time(job.createdAt), "createdISO": WebText.iso(job.createdAt),
        ]
        if let description = job.description { row["description"] = description }
        if let kind = job.failureKind, kind != job.state.rawValue { row["failureKind"] = kind }
        return row
    }
}
