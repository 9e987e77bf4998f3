import Foundation
import Testing
import TickplexTestSupport

@testable import TickplexModel

@Suite("JSON parser")
struct JSONParserTests {
    @Test("numbers keep their exact text, 64-bit and beyond")
    func numbers() throws {
        let v = try JSONParser.parse(#"{"cs":753843900397,"big":18446744073709551616,"f":-1.50e3,"p":"65114.30"}"#)
        #expect(v["cs"] == .number("753843900397") && v["cs"]?.int64 == 753_843_900_397)
        #expect(v["big"] == .number("18446744073709551616") && v["big"]?.int64 == nil)
        #expect(v["f"] == .number("-1.50e3"))
        #expect(v["p"]?.string == "65114.30")
    }

    @Test("escapes, unicode and surrogate pairs")
    func strings() throws {
        let v = try JSONParser.parse(#"["a\"b\\c\/d\n","\u003e10","\ud83d\ude00","é"]"#)
        #expect(v == .array([.string("a\"b\\c/d\n"), .string(">10"), .string("😀"), .string("é")]))
    }

    @Test("objects keep key order; literals; nesting")
    func structure() throws {
        let v = try JSONParser.parse(#" { "z" : [true, false, null, {}], "a": {"b": []} } "#)
        #expect(v.objectPairs?.map(\.key) == ["z", "a"])
        #expect(v["z"] == .array([.bool(true), .bool(false), .null, .object([])]))
    }

    @Test(
        "invalid documents are errors with an offset",
        arguments: [
            "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"abc", "\"\\x\"", "tru", "[1] x", "{\"a\":1,}",
            "\"\u{01}\"", "\"\\ud83d\"",
        ])
    func invalid(_ text: String) {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(text) }
    }

    @Test("deep nesting is refused, not a stack overflow")
    func deepNesting() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(text) }
    }

    @Test("agrees with Foundation on every recorded Bybit ticker frame")
    func agreesWithFoundation() throws {
        let text = try ExchangeFixtures.text("bybit/tickers_linear.jsonl")
        for line in text.split(separator: "\n") {
            let ours = try JSONParser.parse(String(line))
            let theirs = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(ours.objectPairs?.count == theirs.count)
            let data = theirs["data"] as! [String: Any]
            for (k, v) in data { #expect(ours["data"]?[k]?.string == v as? String) }
        }
    }
}
