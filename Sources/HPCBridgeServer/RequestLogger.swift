import Hummingbird
import Logging

/// The current request's logger (it carries Hummingbird's `hb.request.id`), for the generated handlers,
/// which take no request context: set by a router middleware, read by `JobAPI`.
enum RequestLogger {
    @TaskLocal static var current: Logger?
}

/// Makes the request's logger available to the handlers for the duration of the request.
struct RequestLoggerMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await RequestLogger.$current.withValue(context.logger) {
            try await next(request, context)
        }
    }
}
