@testable import HPCBridge

extension JSONValue {
    /// A copy with the value at `path` (object keys) replaced.
    func replacing(at path: [String], with value: JSONValue) -> JSONValue {
        guard let first = path.first else { return value }
        guard case .object(var members) = self else { return self }
        members[first] = (members[first] ?? .object([:])).replacing(at: Array(path.dropFirst()), with: value)
        return .object(members)
    }
}
