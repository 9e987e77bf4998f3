import Testing
import TickplexModel
import TickplexTestSupport
import TickplexVenues

/// Binance USD-M sends a ticker's fields on three streams; the adapter merges them into one ticker.
@Suite("Binance USD-M ticker: @ticker + @markPrice@1s + @bookTicker merged, each stream on its route")
struct USDMTickerMergeTests {
    static func line(_ file: String, containing needle: String) throws -> String {
        let text = try ExchangeFixtures.text("binance/futures_usdm/\(file)")
        return try #require(text.split(separator: "\n").first { $0.contains(needle) }.map(String.init))
    }

    @Test("the recorded BTCUSDT frames of the three streams make one ticker with every field set")
    func merge() throws {
        // One adapter per connection in production; the parts meet in one TickerMerge.
        var a = BinanceAdapter(market: .usdm)
        var merge = TickerMerge()
        var last: Ticker?
        for (file, needle) in [
            ("ticker_24hr.jsonl", "btcusdt@ticker"), ("markPrice.jsonl", "btcusdt@markPrice"),
            ("bookTicker.jsonl", "btcusdt@bookTicker"),
        ] {
            for message in try a.decode(try Self.line(file, containing: needle), receivedAt: 1) {
                if case .event(let e) = message, case .ticker(let t) = e.payload {
                    #expect(e.key == .ticker("BTCUSDT", .binanceUSDM))
                    last = merge.apply(t, exchangeTime: e.exchangeTime) ?? last
                }
            }
        }
        let t = try #require(last)
        #expect(t.price == "30289.60" && t.high24h == "30691.90" && t.volume24h == "315787.324")
        #expect(t.markPrice == "29968.93335956" && t.indexPrice == "29980.66509373")
        #expect(t.fundingRate == "0.00010000" && t.nextFundingTime == 1_654_876_800_000)
        #expect(t.bid == PriceLevel(price: "33134.42", size: "0.170"))
        #expect(t.ask == PriceLevel(price: "33139.39", size: "0.380"))
    }

    @Test("a USD-M ticker needs three upstream streams; spot and Bybit need one")
    func topics() {
        let usdm = BinanceAdapter(market: .usdm)
        #expect(
            (try? usdm.topics(for: .ticker("BTCUSDT", .binanceUSDM)).get())
                == ["btcusdt@ticker", "btcusdt@markPrice@1s", "btcusdt@bookTicker"])
        #expect(
            (try? BinanceAdapter(market: .spot).topics(for: .ticker("BTCUSDT", .binanceSpot)).get()) == [
                "btcusdt@ticker"
            ])
    }

    @Test(
        "routes as Binance documents them: book tickers, depth and raw trades on /public, the rest on /market",
        arguments: [
            ("btcusdt@bookTicker", "/public"), ("btcusdt@depth20@100ms", "/public"), ("btcusdt@depth@100ms", "/public"),
            ("btcusdt@trade", "/public"), ("btcusdt@aggTrade", "/market"), ("btcusdt@markPrice@1s", "/market"),
            ("btcusdt@kline_1m", "/market"), ("btcusdt@ticker", "/market"), ("btcusdt@forceOrder", "/market"),
        ])
    func routes(topic: String, route: String) {
        #expect(BinanceAdapter(market: .usdm).route(for: topic) == route)
        #expect(BinanceAdapter(market: .spot).route(for: topic) == "")
    }

    @Test("book-ticker parts make a ticker event at most every 100 ms; their values are merged anyway")
    func bookThrottle() {
        var merge = TickerMerge()
        var base = Ticker(symbol: "BTCUSDT")
        base.price = "1"
        #expect(merge.apply(base, exchangeTime: 0)?.price == "1")
        func book(_ bid: String) -> Ticker {
            var t = Ticker(symbol: "BTCUSDT")
            t.bid = PriceLevel(price: bid, size: "1")
            t.ask = PriceLevel(price: "9", size: "1")
            return t
        }
        #expect(merge.apply(book("2"), exchangeTime: 10)?.bid?.price == "2")
        #expect(merge.apply(book("3"), exchangeTime: 60) == nil, "within 100 ms of the last book-only event")
        var mark = Ticker(symbol: "BTCUSDT")
        mark.markPrice = "5"
        let afterMark = merge.apply(mark, exchangeTime: 70)
        #expect(afterMark?.bid?.price == "3" && afterMark?.markPrice == "5" && afterMark?.price == "1")
        #expect(merge.apply(book("4"), exchangeTime: 110)?.bid?.price == "4")
        merge.forget("BTCUSDT")
        #expect(merge.apply(book("5"), exchangeTime: 300)?.price == nil, "forgotten: starts again")
    }
}
