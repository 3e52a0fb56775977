import Foundation
import Testing
@testable import HPCBridgeServer

/// The web pages' form bodies, as browsers send them.
@Suite("UI: form bodies")
struct WebFormTests {
    @Test("URL-encoded: + is a space, %XX a byte, a broken escape is kept as written, order and repeats kept")
    func urlEncoded() throws {
        let form = try WebForm.parse(Array("a=1+2&b=x%2By%21&c=%G1%&a=second&empty=&flag".utf8), contentType: "application/x-www-form-urlencoded; charset=UTF-8")
        #expect(form.pairs.map(\.name) == ["a", "b", "c", "a", "empty", "flag"])
        #expect(form.value("a") == "1 2")
        #expect(form.value("b") == "x+y!")
        #expect(form.value("c") == "%G1%")
        #expect(form.value("empty") == "" && form.value("flag") == "")
        #expect(form.fields.filter { $0.name == "a" }.map(\.value) == ["1 2", "second"])
        #expect(try WebForm.parse(Array("s=%C3%A9%FF".utf8), contentType: "application/x-www-form-urlencoded").value("s") == "é\u{FFFD}")
    }

    @Test("multipart: fields and a file with its name, a quoted boundary, CRLF kept inside values")
    func multipart() throws {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"cohort_id\"\r\n\r\nc1\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"_samples_file\"; filename=\"sheet.csv\"\r\nContent-Type: text/csv\r\n\r\nsample_id,fastq_r1\r\nS1,/data/a.fq\r\n\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--XyZ--\r\n"
        let form = try WebForm.parse(Array(body.utf8), contentType: "multipart/form-data; boundary=\"XyZ\"")
        #expect(form.pairs.map(\.name) == ["cohort_id", "_samples_file", "empty"])
        #expect(form.value("cohort_id") == "c1")
        let file = try #require(form.fields.first { $0.name == "_samples_file" })
        #expect(file.fileName == "sheet.csv")
        #expect(file.value == "sample_id,fastq_r1\r\nS1,/data/a.fq\r\n")
        #expect(form.value("empty") == "")
    }

    @Test("refused: another content type, multipart without a boundary, a part without headers or a name")
    func refused() {
        let cases: [(String, String?)] = [
            ("a=1", "text/plain"), ("a=1", nil), ("--b\r\n\r\nx\r\n--b--", "multipart/form-data"),
            ("--b\r\nno blank line\r\n--b--\r\n", "multipart/form-data; boundary=b"),
            ("--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b"),
            ("no boundary at all", "multipart/form-data; boundary=b"),
        ]
        for (body, type) in cases {
            #expect(throws: WebForm.Unreadable.self, "\(body) as \(type ?? "nothing")") { try WebForm.parse(Array(body.utf8), contentType: type) }
        }
    }
}
