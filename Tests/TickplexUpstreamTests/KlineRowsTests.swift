import Testing
import TickplexModel
import TickplexTestSupport
import TickplexUpstream

/// The exchanges' REST kline rows read from the recorded bodies; open and closed decided by the exchange's clock.
@Suite("REST klines: the recorded rows parse, open and closed as the exchange had them")
struct KlineRowsTests {
    @Test("Bybit linear 60 (recorded): newest first → ascending; the candle still running at `time` is open")
    func bybit() throws {
        let rows = try KlineBackfill.bybitRows(
            try ExchangeFixtures.text("rest/bybit/kline_linear.json"), interval: .h1, now: 0)
        #expect(rows.map(\.start) == [1_786_816_800_000, 1_786_820_400_000])
        #expect(rows[0].closed && !rows[1].closed, "time 1786820637599 lies inside the second hour")
        #expect(rows[1].open == "63027.8" && rows[1].close == "63032.3" && rows[1].volume == "4.591")
        #expect(rows[0].end == 1_786_820_399_999 && rows[0].turnover == "24314058.6517")
        #expect(throws: RESTError.self) {
            try KlineBackfill.bybitRows(
                #"{"retCode":10001,"retMsg":"Not supported symbols","result":{}}"#, interval: .h1, now: 0)
        }
    }

    @Test("Binance spot 1m and USD-M 1h (recorded): 12-field rows, closed once closeTime has passed")
    func binance() throws {
        let spot = try KlineBackfill.binanceRows(
            try ExchangeFixtures.text("rest/binance/klines.json"), interval: .m1, now: 1_634_944_000_000)
        #expect(spot.count == 10 && spot.first?.start == 1_634_943_780_000)
        #expect(spot.first?.open == "60685.22000000" && spot.first?.turnover == "1313200.01340410")
        #expect(spot.filter { !$0.closed }.allSatisfy { $0.end >= 1_634_944_000_000 })
        let usdm = try KlineBackfill.binanceRows(
            try ExchangeFixtures.text("rest/binance/futures_usdm/klines.json"), interval: .h1, now: .max)
        #expect(usdm.first?.open == "63043.40" && usdm.allSatisfy(\.closed))
        #expect(throws: RESTError.self) {
            try KlineBackfill.binanceRows(#"{"code":-1121,"msg":"Invalid symbol."}"#, interval: .m1, now: 0)
        }
    }
}
