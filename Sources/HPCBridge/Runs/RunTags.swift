import Foundation

/// A run's tags: labels a client attaches to a run and gets back (`tags` on /v1, GA4GH WES's `tags`).
/// They are stored and shown, never interpreted, so they are held to what a listing or a web page can
/// show: at most 64, each key 1-128 characters and each value at most 1,024, none with a control
/// character. Both contracts state the same rules (`RunTags` in /v1's, `RunRequest.tags` in WES's; a
/// test holds them to these numbers), so a client can check before it sends.
public enum RunTags {
    public static let maximumCount = 64
    public static let maximumKeyLength = 128
    public static let maximumValueLength = 1024

    /// The tags of a request member (nil or null: none), or every problem with them at `pointer`.
    public static func read(_ value: JSONValue?, at pointer: JSONPointer) -> (tags: [String: String], errors: [ValidationError]) {
        guard let value, value != .null else { return ([:], []) }
        guard case .object(let members) = value else {
            return ([:], [ValidationError(pointer: pointer, message: "must be an object of text labels, such as {\"project\": \"cohort-7\"}; got \(value.kindForHumans)")])
        }
        var errors: [ValidationError] = []
        if members.count > maximumCount {
            errors.append(ValidationError(pointer: pointer, message: "may hold at most \(maximumCount) tags; got \(members.count)"))
        }
        var tags: [String: String] = [:]
        for (key, member) in members.sorted(by: { $0.key < $1.key }) {
            let here = pointer.appending(key)
            if key.isEmpty || key.unicodeScalars.count > maximumKeyLength {
                errors.append(ValidationError(pointer: here, message: "names a tag with \(key.unicodeScalars.count) characters; a tag's name has 1 to \(maximumKeyLength)"))
            } else if let found = SchemaValidator.firstControlCharacter(in: key) {
                errors.append(ValidationError(pointer: here, message: "names a tag with a control character: \(SchemaValidator.controlCharacterMessage(found))"))
            }
            guard case .string(let text) = member else {
                errors.append(ValidationError(pointer: here, message: "must be text; got \(member.kindForHumans)"))
                continue
            }
            if text.unicodeScalars.count > maximumValueLength {
                errors.append(ValidationError(pointer: here, message: "must be at most \(maximumValueLength) characters long"))
            }
            if let found = SchemaValidator.firstControlCharacter(in: text) {
                errors.append(ValidationError(pointer: here, message: SchemaValidator.controlCharacterMessage(found)))
            }
            tags[key] = text
        }
        return (tags, errors)
    }
}
