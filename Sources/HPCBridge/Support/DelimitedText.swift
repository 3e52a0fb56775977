/// CSV (RFC 4180) and TSV text split into cells that remember their line and column, so a sample sheet's
/// errors point at the cell a person typed.
///
/// Written here rather than taken from a CSV package because the packages at hand report neither the
/// position of a cell nor of a quoting error, and a sheet with a stray quote must be refused with its
/// place, not read leniently into a shifted row.
public struct DelimitedText: Sendable, Hashable {
    /// One cell and where it starts (1-based).
    public struct Cell: Sendable, Hashable {
        public let text: String
        public let line: Int
        public let column: Int
    }

    /// A problem that stops reading, with its place.
    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        public let line: Int
        public let column: Int
        public let message: String
        public var description: String { "line \(line), column \(column): \(message)" }
    }

    /// The records in order; blank lines are dropped.
    public let records: [[Cell]]
    /// `,` or a tab.
    public let separator: Character

    /// Splits text: TSV when the first line holds a tab, CSV otherwise. Quoted cells may hold separators,
    /// line breaks and doubled quotes (`""`), in CSV only; a quote anywhere else is an error.
    public init(parsing text: String) throws(SyntaxError) {
        let firstLine = text.prefix { $0 != "\n" && $0 != "\r\n" }
        let separator: Character = firstLine.contains("\t") ? "\t" : ","
        self.separator = separator
        var records: [[Cell]] = []
        var record: [Cell] = []
        var cell = "", cellLine = 1, cellColumn = 1
        var line = 1, column = 1
        var quoted = false, closedQuote = false, recordHasText = false
        var quoteLine = 1, quoteColumn = 1
        func endCell() {
            record.append(Cell(text: cell, line: cellLine, column: cellColumn))
            cell = ""; quoted = false; closedQuote = false
        }
        func endRecord() {
            endCell()
            if recordHasText || record.count > 1 { records.append(record) }
            record = []; recordHasText = false
        }
        for character in text {
            // Swift reads "\r\n" as one Character; a lone "\r" ends a line too.
            let isNewline = character == "\n" || character == "\r\n" || character == "\r"
            if record.isEmpty, cell.isEmpty, !quoted, !closedQuote { cellLine = line; cellColumn = column }
            if quoted {
                if character == "\"" {
                    quoted = false; closedQuote = true
                } else {
                    cell.append(character)
                }
            } else if closedQuote, character == "\"" {
                // A doubled quote inside a quoted cell: one literal quote, and the cell goes on.
                cell.append("\""); quoted = true; closedQuote = false
            } else if character == separator {
                endCell()
                cellLine = line; cellColumn = column + 1
            } else if isNewline {
                endRecord()
            } else if closedQuote {
                throw SyntaxError(line: line, column: column, message: "text after the closing quote of a quoted cell; a quote inside a cell is written as two quotes (\"\")")
            } else if character == "\"" {
                guard separator == ",", cell.isEmpty else {
                    throw SyntaxError(line: line, column: column, message: separator == "," ? "a quote inside an unquoted cell; quote the whole cell and double the quote (\"a\"\"b\")" : "a quote in TSV text; TSV cells cannot be quoted, remove it")
                }
                quoted = true; recordHasText = true
                quoteLine = line; quoteColumn = column
            } else {
                cell.append(character)
                if !character.isWhitespace { recordHasText = true }
            }
            if isNewline { line += 1; column = 1 } else { column += 1 }
        }
        if quoted {
            throw SyntaxError(line: quoteLine, column: quoteColumn, message: "this quoted cell is never closed")
        }
        endRecord()
        self.records = records
    }
}
