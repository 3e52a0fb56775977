import Foundation

/// The `format` values the catalog dialect asserts (JSON Schema leaves format checking optional; on a
/// shared cluster a path that is not a path must be an error, so here every supported format is checked
/// and an unknown one is a load error).
public enum StringFormat: String, Sendable, CaseIterable {
    /// A normalised POSIX absolute path: starts with `/`, no `.` or `..` segments, no empty segments,
    /// at most 4096 bytes with segments of at most 255 bytes (Linux PATH_MAX and NAME_MAX).
    case absolutePath = "absolute-path"
    /// nf-core's path formats, which hpcbridge checks as absolute paths: a batch job has no useful
    /// working directory to resolve a relative path against.
    case filePath = "file-path"
    case directoryPath = "directory-path"
    case path = "path"
    /// An absolute URI (RFC 3986: scheme, then `:`, then no spaces or control characters), optionally
    /// restricted to the schemes listed in `x-uri-schemes`.
    case uri = "uri"
    /// An RFC 4122 UUID in its canonical text form.
    case uuid = "uuid"
    /// An RFC 3339 full-date (`2026-11-23`).
    case date = "date"

    /// Whether a value of this format names a file or directory on the cluster (and so must lie under the
    /// research group's input roots, where the site sets them).
    var isPath: Bool {
        switch self {
        case .absolutePath, .filePath, .directoryPath, .path: true
        case .uri, .uuid, .date: false
        }
    }

    /// A message for a value that does not have this format, or `nil` when it does.
    func problem(with value: String, allowedSchemes: [String]?) -> String? {
        switch self {
        case .absolutePath, .filePath, .directoryPath, .path:
            return Self.absolutePathProblem(value)
        case .uri:
            return Self.uriProblem(value, allowedSchemes: allowedSchemes)
        case .uuid:
            return UUID(uuidString: value) != nil && value.count == 36 ? nil : "must be a UUID such as 123e4567-e89b-12d3-a456-426614174000"
        case .date:
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyy-MM-dd"
            return value.count == 10 && f.date(from: value) != nil ? nil : "must be a date written as YYYY-MM-DD"
        }
    }

    static func absolutePathProblem(_ value: String) -> String? {
        guard value.hasPrefix("/") else { return "must be an absolute path starting with / (got \(JSONValue.quote(value)))" }
        guard value.utf8.count <= 4096 else { return "is longer than the 4096 bytes a path may have" }
        guard !value.utf8.contains(0) else { return "must not contain a NUL byte" }
        let segments = value.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if value == "/" { return nil }
        for (index, segment) in segments.enumerated() {
            if segment.isEmpty, index == segments.count - 1 { continue }  // a trailing slash names a directory
            if segment.isEmpty { return "must not contain an empty path segment (//)" }
            if segment == "." || segment == ".." { return "must not contain . or .. segments; write the path without them" }
            if segment.utf8.count > 255 { return "has a path segment longer than 255 bytes" }
        }
        return nil
    }

    static func uriProblem(_ value: String, allowedSchemes: [String]?) -> String? {
        guard let colon = value.firstIndex(of: ":") else { return "must be a URI such as s3://bucket/key" }
        let scheme = value[..<colon]
        guard let first = scheme.first, first.isASCII, first.isLetter,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { return "must start with a URI scheme such as s3:" }
        guard !value.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "<" || $0 == ">" || $0 == "\\" }) else {
            return "must not contain spaces, quotes, angle brackets or backslashes (percent-encode them)"
        }
        guard value.count > scheme.count + 1 else { return "has nothing after the scheme" }
        if let allowedSchemes, !allowedSchemes.contains(scheme.lowercased()) {
            return "must use one of the schemes \(allowedSchemes.joined(separator: ", ")) (got \(scheme):)"
        }
        return nil
    }
}
