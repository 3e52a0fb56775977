import Foundation

/// The GA4GH WES 1.1.0 contract as this service implements it, `openapi.yaml` beside this file: the
/// generator builds this module's types and server stubs from it, and the service serves it as written
/// at `/ga4gh/wes/v1/openapi.yaml`.
///
/// A module of its own because the generated names (`Components`, `Operations`, `APIProtocol`) are the
/// same for every document: the /v1 contract's are in `HPCBridgeAPI`.
public enum WESDocument {
    public static let text: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return "" }
        return text
    }()
}
