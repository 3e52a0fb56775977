import Foundation

/// A submitted HTML form: its fields in the order sent, from `application/x-www-form-urlencoded` or
/// `multipart/form-data` (what a form with a file input sends). Pure parsing of bytes already collected;
/// files are kept as text (sample sheets are CSV), with their file name.
struct WebForm: Sendable, Equatable {
    struct Field: Sendable, Equatable {
        var name: String
        var value: String
        /// The uploaded file's name, for a file part.
        var fileName: String?
    }

    var fields: [Field]

    /// The first value sent under `name`.
    func value(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// The fields as (name, value) pairs.
    var pairs: [(name: String, value: String)] { fields.map { ($0.name, $0.value) } }

    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads a body by its Content-Type.
    static func parse(_ body: [UInt8], contentType: String?) throws(Unreadable) -> WebForm {
        let type = contentType?.lowercased() ?? ""
        if type.hasPrefix("application/x-www-form-urlencoded") { return urlEncoded(body) }
        if type.hasPrefix("multipart/form-data") {
            guard let boundary = Self.parameter("boundary", in: contentType ?? "") else {
                throw Unreadable(description: "a multipart form without a boundary")
            }
            return try multipart(body, boundary: boundary)
        }
        throw Unreadable(description: "a form must be sent as application/x-www-form-urlencoded or multipart/form-data")
    }

    /// `a=1&b=x+y%21`: `+` is a space, `%XX` a byte; invalid escapes are kept as written.
    static func urlEncoded(_ body: [UInt8]) -> WebForm {
        var fields: [Field] = []
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = decodeComponent(parts[0])
            let value = parts.count > 1 ? decodeComponent(parts[1]) : ""
            fields.append(Field(name: name, value: value))
        }
        return WebForm(fields: fields)
    }

    static func decodeComponent(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), index + 2 < bytes.endIndex,
                      let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// RFC 7578: parts between `--boundary` lines, each with headers (Content-Disposition names it) and a
    /// body ending before the CRLF that precedes the next boundary.
    static func multipart(_ body: [UInt8], boundary: String) throws(Unreadable) -> WebForm {
        let delimiter = Array("--\(boundary)".utf8)
        var positions: [Int] = []
        var searchFrom = 0
        while let found = find(delimiter, in: body, from: searchFrom) {
            positions.append(found)
            searchFrom = found + delimiter.count
        }
        guard positions.count >= 2 else { throw Unreadable(description: "the multipart form has no complete part (boundary \(boundary))") }
        var fields: [Field] = []
        for (start, end) in zip(positions, positions.dropFirst()) {
            var partStart = start + delimiter.count
            // A boundary line ends with CRLF; the closing one (`--boundary--`) has no part after it.
            guard partStart + 1 < body.count, !(body[partStart] == UInt8(ascii: "-") && body[partStart + 1] == UInt8(ascii: "-")) else { break }
            if body[partStart] == 13 { partStart += 1 }
            if partStart < body.count, body[partStart] == 10 { partStart += 1 }
            var partEnd = end
            if partEnd >= 2, body[partEnd - 2] == 13, body[partEnd - 1] == 10 { partEnd -= 2 } else if partEnd >= 1, body[partEnd - 1] == 10 { partEnd -= 1 }
            guard partStart <= partEnd else { continue }
            let part = Array(body[partStart..<partEnd])
            guard let headerEnd = find([13, 10, 13, 10], in: part, from: 0) else {
                throw Unreadable(description: "a multipart part has no blank line after its headers")
            }
            let headers = String(decoding: part[..<headerEnd], as: UTF8.self)
            let content = String(decoding: part[(headerEnd + 4)...], as: UTF8.self)
            var name: String?, fileName: String?
            for line in headers.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) where line.lowercased().hasPrefix("content-disposition:") {
                name = parameter("name", in: String(line))
                fileName = parameter("filename", in: String(line))
            }
            guard let name else { throw Unreadable(description: "a multipart part has no name in its Content-Disposition") }
            fields.append(Field(name: name, value: content, fileName: fileName))
        }
        return WebForm(fields: fields)
    }

    /// `name=value` or `name="value"` in a header's parameters (`; boundary=...`, `; filename="a.csv"`).
    static func parameter(_ wanted: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == wanted else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
