import Foundation

/// The rows of a run's sample sheet, validated against the pipeline's row schema: one array task per row
/// of every scatter step, task index = row index.
///
/// A sheet arrives inline as JSON (a list of objects) or as CSV/TSV text with a header line. Every bad
/// cell is reported at once, at its JSON Pointer (`/samples/17/fastq_r1`) and, for text, with its line
/// and column, so a biologist fixes the spreadsheet in one round.
public struct SampleSheet: Sendable, Hashable {
    /// The field that names a row. It becomes part of task names, output paths and log files, so beyond
    /// the pipeline's own rule it must be a safe file name and unique in the sheet.
    public static let keyField = "sample_id"
    /// The most rows a run takes: Slurm's default MaxArraySize is 1001 (indices 0-1000).
    public static let maximumRows = 1000
    /// At most this many errors are listed; a hostile sheet must not produce a megabyte of them.
    static let maximumErrors = 100
    /// What every sample id must look like, whatever the pipeline's schema allows.
    static let safeKey = try! ECMARegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

    /// The rows as objects, defaults applied.
    public let rows: [JSONValue]
    /// Pointers (relative to the sheet, `/3/fastq_r1`) of the strings that a path format accepted: what
    /// the group's input roots must contain.
    public let paths: [JSONPointer]

    /// The sample ids in row order.
    public var sampleIDs: [String] { rows.map { $0[Self.keyField]?.stringValue ?? "" } }

    public init(rows: [JSONValue], paths: [JSONPointer] = []) {
        self.rows = rows
        self.paths = paths
    }

    /// Reads and validates a sheet given as a JSON list of objects or as CSV/TSV text. `at` is where the
    /// sheet sits in the request (`/samples`); every error's pointer starts there.
    /// `maximumArrayTasks` is the cluster's MaxArraySize when known: a sheet longer than it is refused
    /// whole (never half-submitted), with the number to split it by.
    public static func read(_ value: JSONValue, schema: JSONSchema, at base: JSONPointer, maximumArrayTasks: Int? = nil) -> Result<SampleSheet, ValidationFailure> {
        var origin: [JSONPointer: DelimitedText.Cell] = [:]
        let objects: [JSONValue]
        switch value {
        case .array(let items):
            objects = items
        case .string(let text):
            switch rows(fromText: text, schema: schema) {
            case .success(let read): (objects, origin) = read
            case .failure(let error): return .failure(ValidationFailure([ValidationError(pointer: base, message: error.description)]))
            }
        default:
            return .failure(ValidationFailure([ValidationError(pointer: base, message: "must be a list of rows (objects) or CSV/TSV text with a header line; got \(value.kindForHumans)")]))
        }
        guard !objects.isEmpty else {
            return .failure(ValidationFailure([ValidationError(pointer: base, message: "lists no samples; a run needs at least one row")]))
        }
        guard objects.count <= maximumRows else {
            return .failure(ValidationFailure([ValidationError(pointer: base, message: "lists \(objects.count) samples; a run takes at most \(maximumRows) (one array task each); split the sheet into several runs")]))
        }
        if let limit = maximumArrayTasks, objects.count > limit {
            return .failure(ValidationFailure([ValidationError(pointer: base, message: "lists \(objects.count) samples, but the cluster's scheduler takes job arrays of at most \(limit) tasks (Slurm's MaxArraySize); split the sheet into runs of at most \(limit) rows")]))
        }

        var errors: [ValidationError] = []
        var rows: [JSONValue] = [], paths: [JSONPointer] = []
        var firstRow: [String: Int] = [:]
        let validator = SchemaValidator(schema: schema)
        for (index, object) in objects.enumerated() {
            let result = validator.validate(object)
            var rowErrors = result.errors
            let keyPointer = JSONPointer(tokens: [keyField])
            if let key = result.value[keyField]?.stringValue, !rowErrors.contains(where: { $0.pointer == keyPointer }) {
                if !safeKey.matches(key) {
                    rowErrors.append(ValidationError(pointer: keyPointer, message: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit: it names the sample's task, outputs and logs"))
                } else if let earlier = firstRow[key] {
                    rowErrors.append(ValidationError(pointer: keyPointer, message: "repeats \(JSONValue.quote(key)) of row \(earlier); every sample needs its own \(keyField)"))
                } else {
                    firstRow[key] = index
                }
            }
            for error in rowErrors {
                let pointer = JSONPointer(tokens: base.tokens + [String(index)] + error.pointer.tokens)
                let place = origin[JSONPointer(tokens: [String(index)] + error.pointer.tokens.prefix(1))]
                    ?? origin[JSONPointer(tokens: [String(index)])]
                errors.append(ValidationError(pointer: pointer, message: place.map { "line \($0.line), column \($0.column): " + error.message } ?? error.message))
            }
            rows.append(result.value)
            paths += result.paths.map { JSONPointer(tokens: [String(index)] + $0.tokens) }
            if errors.count > maximumErrors { break }
        }
        guard errors.isEmpty else {
            var shown = Array(errors.prefix(maximumErrors))
            if errors.count > maximumErrors {
                shown.append(ValidationError(pointer: base, message: "more errors follow; fix these first (only the first \(maximumErrors) are listed)"))
            }
            return .failure(ValidationFailure(shown))
        }
        return .success(SampleSheet(rows: rows, paths: paths))
    }

    /// Rows from CSV/TSV text: the header names the fields; each cell is typed by the row schema
    /// (numbers and booleans where the field's type says so); an empty cell leaves its field out.
    /// Also returns, per row and field, the cell it came from.
    static func rows(fromText text: String, schema: JSONSchema) -> Result<([JSONValue], [JSONPointer: DelimitedText.Cell]), DelimitedText.SyntaxError> {
        let table: DelimitedText
        do { table = try DelimitedText(parsing: text) } catch { return .failure(error) }
        guard let header = table.records.first else {
            return .failure(DelimitedText.SyntaxError(line: 1, column: 1, message: "the sheet is empty; the first line names the fields (\(schema.root.properties.keys.sorted().joined(separator: ", ")))"))
        }
        let known = schema.root.properties.keys.sorted()
        var seen: Set<String> = []
        for cell in header {
            let name = cell.text.trimmingCharacters(in: .whitespaces)
            guard seen.insert(name).inserted else {
                return .failure(DelimitedText.SyntaxError(line: cell.line, column: cell.column, message: "the column \(JSONValue.quote(name)) is named twice"))
            }
            if schema.root.properties[name] == nil, schema.root.additionalProperties?.booleanValue == false {
                return .failure(DelimitedText.SyntaxError(line: cell.line, column: cell.column, message: "\(JSONValue.quote(name)) is not a field of this pipeline's sample sheet\(EditDistance.hint(for: name, among: known)); fields: \(known.joined(separator: ", "))"))
            }
        }
        var objects: [JSONValue] = []
        var origin: [JSONPointer: DelimitedText.Cell] = [:]
        for (r, record) in table.records.dropFirst().enumerated() {
            guard record.count == header.count else {
                let first = record[0]
                return .failure(DelimitedText.SyntaxError(line: first.line, column: 1, message: "has \(record.count) cells but the header names \(header.count) fields"))
            }
            origin[JSONPointer(tokens: [String(r)])] = record[0]
            var members: [String: JSONValue] = [:]
            for (cell, name) in zip(record, header.map { $0.text.trimmingCharacters(in: .whitespaces) }) where !cell.text.isEmpty {
                members[name] = typed(cell.text, as: schema.root.properties[name].map { schema.types(of: $0) } ?? nil)
                origin[JSONPointer(tokens: [String(r), name])] = cell
            }
            objects.append(.object(members))
        }
        return .success((objects, origin))
    }

    /// A cell's text as the JSON value its field's type asks for; text when it does not parse, so the
    /// schema reports the mismatch with its usual words.
    static func typed(_ text: String, as types: Set<String>?) -> JSONValue {
        guard let types else { return .string(text) }
        if types.contains("integer") || types.contains("number"), let number = Double(text), number.isFinite,
           text.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }) {
            return .number(number)
        }
        if types.contains("boolean"), text == "true" || text == "false" { return .bool(text == "true") }
        return .string(text)
    }
}

extension JSONSchema {
    /// The declared types of a node, following its `$ref` (what a CSV cell is converted to).
    func types(of node: SchemaNode) -> Set<String>? {
        var current: SchemaNode? = node
        var hops = 0
        while let next = current, hops < 16 {
            if let types = next.types { return types }
            current = next.ref.map(resolve)
            hops += 1
        }
        return nil
    }
}
