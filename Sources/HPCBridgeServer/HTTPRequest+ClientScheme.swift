import HTTPTypes

extension HTTPRequest {
    /// The scheme the client used: https when a proxy in front says so (`X-Forwarded-Proto`), else the
    /// request's own. WES builds its absolute URLs with it, and the web pages mark their cookies Secure.
    var clientScheme: String {
        let forwarded = HTTPField.Name("X-Forwarded-Proto").flatMap { headerFields[$0] }?.lowercased()
        return forwarded == "https" ? "https" : (scheme ?? "http")
    }
}
