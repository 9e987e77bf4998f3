import Testing
import TickplexTestSupport
import TickplexUpstream

/// The venues' instrument lists read from the recorded REST bodies (Tests/Fixtures/exchange/rest).
@Suite("Instrument catalogue: the recorded REST bodies parse")
struct CatalogueParserTests {
    @Test("Bybit instruments-info, linear (recorded) and spot (docs): the Trading symbols and the next cursor")
    func bybit() throws {
        let linear = try CatalogueParser.bybitPage(try ExchangeFixtures.text("rest/bybit/instruments_linear.json"))
        #expect(linear.symbols.contains("BTCUSDT") && !linear.symbols.isEmpty)
        #expect(linear.next == nil, "the recording has no nextPageCursor")
        let spot = try CatalogueParser.bybitPage(
            try ExchangeFixtures.text("rest/bybit/docs_examples/instruments_spot.json"))
        #expect(spot.symbols.contains("BTCUSDT"))
        let docsLinear = try CatalogueParser.bybitPage(
            try ExchangeFixtures.text("rest/bybit/docs_examples/instruments_linear.json"))
        #expect(!docsLinear.symbols.isEmpty)
    }

    @Test("Bybit's refusals (recorded): retCode != 0 is an error naming it, not an empty catalogue")
    func bybitErrors() throws {
        for line in try ExchangeFixtures.text("rest/bybit/errors.jsonl").split(separator: "\n") {
            #expect(throws: RESTError.self) { try CatalogueParser.bybitPage(String(line)) }
        }
        #expect(throws: RESTError.self) { try CatalogueParser.bybitPage("<html>403</html>") }
    }

    @Test("Binance exchangeInfo, spot and USD-M (recorded): TRADING symbols and the weight limit per minute")
    func binance() throws {
        let spot = try CatalogueParser.binance(try ExchangeFixtures.text("rest/binance/exchangeInfo.json"))
        #expect(Set(spot.symbols).isSuperset(of: ["BTCUSDT", "ETHUSDT"]))
        #expect(spot.weightLimit == 1200, "the 2021 recording's REQUEST_WEIGHT per minute")
        let usdm = try CatalogueParser.binance(try ExchangeFixtures.text("rest/binance/futures_usdm/exchangeInfo.json"))
        #expect(usdm.symbols.contains("BTCUSDT"))
        #expect(usdm.weightLimit == 6000)
        for line in try ExchangeFixtures.text("rest/binance/errors.jsonl").split(separator: "\n") {
            #expect(throws: RESTError.self) { try CatalogueParser.binance(String(line)) }
        }
    }
}
