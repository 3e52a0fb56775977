import Foundation
import HPCBridge
import Hummingbird

/// The admin page: every cluster's controller health and reconcile lag, every group's quotas against
/// its use, and the service's own readiness checks. Admin tokens only; to a group it does not exist.
extension WebUI {
    func adminPage(_ visitor: Visitor) async throws -> Response {
        let config = service.site.config
        let now = Date()
        var clusters: [[String: Any]] = []
        for name in config.clusters.keys.sorted() {
            let cluster = config.clusters[name]!
            var row: [String: Any] = ["name": name, "scheduler": "\(cluster.scheduler.rawValue) (\(cluster.mode.rawValue))"]
            if let reconciler = service.reconcilers[name] {
                let health = await reconciler.health(now: now)
                row["health"] = health.reachable ? "answering" : (health.knownDown ? "not answering" : "not yet asked")
                row["healthClass"] = health.reachable ? "ok" : (health.knownDown ? "bad" : "state-unknown")
                row["lastCycle"] = health.lastAnswerAt.map(WebText.time) ?? "never"
                // The lag: how old the newest picture of the controller is, against the interval it should have.
                row["lag"] = health.lastAnswerAt.map { "\(WebText.duration(now.timeIntervalSince($0))) (interval \(WebText.duration(cluster.reconcileIntervalSeconds)))" } ?? "-"
                row["detail"] = health.lastError ?? ""
            } else {
                row["health"] = "no reconciler"
                row["healthClass"] = "state-unknown"
                row["lastCycle"] = "-"
                row["lag"] = "-"
                row["detail"] = "this service does not reconcile the cluster"
            }
            clusters.append(row)
        }
        let counts = try await service.storeCall { try $0.stateCounts() }
        var groups: [[String: Any]] = []
        for name in config.groups.keys.sorted() {
            let group = config.groups[name]!
            let open = counts.filter { $0.group == name && !$0.state.isTerminal }.map(\.count).reduce(0, +)
            groups.append([
                "name": name, "cluster": group.cluster, "account": group.account, "open": open, "maxActive": group.maxActiveJobs,
                "perMinute": group.submissionsPerMinute,
                "states": WebText.stateBadges(counts) { $0.group == name },
            ])
        }
        let checks = await service.readiness()
        let sessions = (try? await service.storeCall { try WebSessions(store: $0).liveCount() }) ?? 0
        return html("admin", [
            "visitor": visitor.layout("Admin"), "clusters": clusters, "groups": groups, "sessions": sessions,
            "checks": checks.keys.sorted().map { name in
                ["name": name, "okText": checks[name]!.ok ? "ok" : "failing", "okClass": checks[name]!.ok ? "ok" : "bad", "detail": checks[name]!.detail] as [String: Any]
            },
        ])
    }
}
