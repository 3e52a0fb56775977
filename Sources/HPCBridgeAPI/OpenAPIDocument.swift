import Foundation

/// The HTTP contract, `openapi.yaml` beside this file: the generator builds this module's types, server
/// stubs and client from it, and the service serves it as written at `/openapi.yaml`.
///
/// This module holds only generated code and the document; it is built without the project's
/// warnings-as-errors because the generated files import more than each one uses.
public enum OpenAPIDocument {
    public static let text: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return "" }
        return text
    }()
}
