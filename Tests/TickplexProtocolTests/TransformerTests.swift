import Foundation
import Testing
import TickplexModel

@testable import TickplexProtocol

@Suite("Transformer: branded JSON, encoded once")
struct TransformerTests {
    @Test("ticker: full state, nulls for what the venue lacks, never zeros; seq per stream")
    func ticker() throws {
        var t = Ticker(symbol: "BTCUSDT")
        t.price = "65114.30"
        t.bid = PriceLevel(price: "65114.20", size: "5.954")
        t.nextFundingTime = 1_786_320_000_000
        var transformer = Transformer(brand: "acme")
        let event = MarketEvent(key: .ticker("BTCUSDT"), exchangeTime: 1_786_310_817_583, payload: .ticker(t))
        let first = transformer.encode(event, receivedAt: 1_786_310_817_590)
        let second = transformer.encode(event, receivedAt: 1_786_310_817_600)
        #expect(first.count == 1 && first[0].seq == 1 && second[0].seq == 2)
        let text = String(decoding: first[0].json, as: UTF8.self)
        #expect(
            text
                == #"{"stream":"acme.bybit.linear.ticker.BTCUSDT","type":"update","seq":1,"data":{"symbol":"BTCUSDT","price":"65114.30","markPrice":null,"indexPrice":null,"high24h":null,"low24h":null,"volume24h":null,"turnover24h":null,"change24hPercent":null,"bid":{"price":"65114.20","size":"5.954"},"ask":null,"fundingRate":null,"nextFundingTime":1786320000000,"openInterest":null},"ts":1786310817583,"recvTs":1786310817590,"source":"acme"}"#
        )
        // Another stream has its own sequence.
        let other = MarketEvent(key: .ticker("ETHUSDT"), exchangeTime: 1, payload: .ticker(Ticker(symbol: "ETHUSDT")))
        #expect(transformer.encode(other, receivedAt: 2)[0].seq == 1)
        // Valid JSON for a standard parser.
        #expect(try JSONSerialization.jsonObject(with: Data(first[0].json)) is [String: Any])
    }

    @Test("a kline message with two candles becomes two messages, closed first")
    func twoCandles() throws {
        let closed = Candle(
            interval: .m1, start: 0, end: 59_999, open: "1", high: "2", low: "0.5", close: "1.5", volume: "10",
            turnover: "15", closed: true)
        var next = closed
        next.start = 60_000
        next.end = 119_999
        next.closed = false
        var transformer = Transformer(brand: "tickplex")
        let out = transformer.encode(
            MarketEvent(key: .kline(.m1, "ETHUSDT"), exchangeTime: 5, payload: .klines([closed, next])), receivedAt: 6)
        #expect(out.map(\.seq) == [1, 2])
        #expect(out.map(\.candle?.closed) == [true, false])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(out[0].json)) as? [String: Any])
        #expect(obj["stream"] as? String == "tickplex.bybit.linear.kline.1m.ETHUSDT")
        let data = try #require(obj["data"] as? [String: Any])
        #expect(
            data["interval"] as? String == "1m" && data["close"] as? String == "1.5" && data["closed"] as? Bool == true)
    }

    @Test("book: top of book and depth-N shapes; trades; strings are escaped")
    func bookAndTrades() throws {
        var transformer = Transformer(brand: "tickplex")
        let book = Book(
            bids: [.init(price: "1", size: "2"), .init(price: "0.9", size: "3")],
            asks: [.init(price: "1.1", size: "4")], updateId: 7)
        let top = String(
            decoding: transformer.encode(
                MarketEvent(key: .book("X"), exchangeTime: 1, payload: .book(book)), receivedAt: 1)[0].json,
            as: UTF8.self)
        #expect(top.contains(#""data":{"bid":{"price":"1","size":"2"},"ask":{"price":"1.1","size":"4"},"updateId":7}"#))
        let deep = String(
            decoding: transformer.encode(
                MarketEvent(key: .book("X", depth: 2), exchangeTime: 1, payload: .book(book)), receivedAt: 1)[0].json,
            as: UTF8.self)
        #expect(
            deep.contains(
                #""data":{"bids":[{"price":"1","size":"2"},{"price":"0.9","size":"3"}],"asks":[{"price":"1.1","size":"4"}],"updateId":7}"#
            ))
        #expect(deep.contains(#""stream":"tickplex.bybit.linear.book.2.X""#))
        let trade = Trade(id: "a\"b", price: "1", size: "2", side: .sell, time: 3, isBlockTrade: true)
        let t = String(
            decoding: transformer.encode(
                MarketEvent(key: .trade("X"), exchangeTime: 1, payload: .trades([trade])), receivedAt: 1)[0].json,
            as: UTF8.self)
        #expect(
            t.contains(#""data":[{"id":"a\"b","price":"1","size":"2","side":"sell","time":3,"isBlockTrade":true}]"#))
    }
}
