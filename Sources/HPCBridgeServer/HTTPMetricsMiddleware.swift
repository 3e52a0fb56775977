import HPCBridge
import Hummingbird

/// Counts and times every HTTP request by route pattern (`/v1/jobs/{id}`, never the concrete path, so
/// job ids do not become series), method and status.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: BridgeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: Int(response.status.code), seconds: (clock.now - start).inSeconds)
            return response
        } catch {
            let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
            record(request, context, status: status, seconds: (clock.now - start).inSeconds)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, seconds: Double) {
        metrics.httpRequest(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, seconds: seconds)
    }
}
