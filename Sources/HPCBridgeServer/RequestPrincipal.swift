import HPCBridge

/// Who the current request acts for, set by `BearerAuthMiddleware` for the operation handlers (the
/// generated handlers take no request context, so the principal travels as a task-local value).
enum RequestPrincipal {
    @TaskLocal static var current: APITokens.Principal?
}
