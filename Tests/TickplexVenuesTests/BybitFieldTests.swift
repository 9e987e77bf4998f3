import Foundation
import Testing
import TickplexModel

@testable import TickplexVenues

/// Representative recorded frames (quoted from `samples/`), decoded field by field.
@Suite("Bybit frames decode field by field")
struct BybitFieldTests {
    func events(_ adapter: inout BybitAdapter, _ frame: String) throws -> [MarketEvent] {
        try adapter.decode(frame, receivedAt: 1).compactMap { if case .event(let e) = $0 { e } else { nil } }
    }

    @Test("linear ticker snapshot, then a partial delta merges over it")
    func linearTicker() throws {
        var a = BybitAdapter(category: .linear)
        let snapshot = try Samples.lines("bybit/tickers_linear.jsonl")[0]
        let e = try #require(try events(&a, snapshot).first)
        #expect(e.key == .ticker("BTCUSDT", .bybitLinear))
        #expect(e.exchangeTime == 1_786_310_817_583)
        guard case .ticker(let t) = e.payload else { throw VenueDecodeError("not a ticker") }
        #expect(t.symbol == "BTCUSDT")
        #expect(t.price == "65114.30")
        #expect(t.markPrice == "65117.44")
        #expect(t.indexPrice == "65137.76")
        #expect(t.high24h == "65282.30")
        #expect(t.low24h == "64694.40")
        #expect(t.volume24h == "17573.9120")
        #expect(t.turnover24h == "1142118412.9021")
        #expect(t.change24hPercent == "0.1624")
        #expect(t.bid == PriceLevel(price: "65114.20", size: "5.954"))
        #expect(t.ask == PriceLevel(price: "65114.30", size: "10.470"))
        #expect(t.fundingRate == "0.0001")
        #expect(t.nextFundingTime == 1_786_320_000_000)
        #expect(t.openInterest == "59891.732")

        let delta = try Samples.lines("bybit/tickers_linear.jsonl")[1]
        guard case .ticker(let merged) = try #require(try events(&a, delta).first).payload else { return }
        #expect(merged.bid == PriceLevel(price: "65114.20", size: "6.054"))
        #expect(merged.ask == PriceLevel(price: "65114.30", size: "10.486"))
        // Fields the delta did not carry keep their values: never zero, never null.
        #expect(merged.price == "65114.30" && merged.markPrice == "65117.44" && merged.fundingRate == "0.0001")
    }

    @Test("spot ticker: snapshot only, no bid/ask, no funding: those are null")
    func spotTicker() throws {
        var a = BybitAdapter(category: .spot)
        let frame =
            #"{"topic":"tickers.BTCUSDT","ts":1786310819126,"type":"snapshot","cs":112488546160,"data":{"symbol":"BTCUSDT","lastPrice":"65140.5","highPrice24h":"65305.6","lowPrice24h":"64727.9","prevPrice24h":"65045.3","volume24h":"2953.835931","turnover24h":"191907024.69597728","price24hPcnt":"0.0015","usdIndexPrice":"65091.459221"}}"#
        let e = try #require(try events(&a, frame).first)
        #expect(e.key == .ticker("BTCUSDT", .bybitSpot))
        guard case .ticker(let t) = e.payload else { return }
        #expect(t.price == "65140.5" && t.change24hPercent == "0.15" && t.turnover24h == "191907024.69597728")
        #expect(t.bid == nil && t.ask == nil && t.fundingRate == nil && t.markPrice == nil && t.openInterest == nil)
    }

    @Test("linear trade: every field, side and block flag")
    func trade() throws {
        var a = BybitAdapter(category: .linear)
        let frame =
            #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1786310819681,"data":[{"T":1786310819680,"s":"BTCUSDT","S":"Sell","v":"0.004","p":"65114.20","L":"MinusTick","i":"a9188a0a-82bc-50de-be60-03eedbe3cdd7","BT":false,"RPI":false,"seq":753843954913}]}"#
        let e = try #require(try events(&a, frame).first)
        #expect(e.key == .trade("BTCUSDT"))
        #expect(
            e.payload
                == .trades([
                    Trade(
                        id: "a9188a0a-82bc-50de-be60-03eedbe3cdd7", price: "65114.20", size: "0.004", side: .sell,
                        time: 1_786_310_819_680, isBlockTrade: false)
                ]))
    }

    @Test("a kline message at a close carries the closed and the new candle, in order")
    func twoCandles() throws {
        var a = BybitAdapter(category: .linear)
        let frame =
            #"{"topic":"kline.1.ETHUSDT","data":[{"start":1786310760000,"end":1786310819999,"interval":"1","open":"1922.43","close":"1922.48","high":"1922.48","low":"1922.42","volume":"15.7","turnover":"30182.0724","confirm":true,"timestamp":1786310820123},{"start":1786310820000,"end":1786310879999,"interval":"1","open":"1922.48","close":"1922.48","high":"1922.48","low":"1922.48","volume":"0","turnover":"0","confirm":false,"timestamp":1786310820123}],"ts":1786310820123,"type":"snapshot"}"#
        let e = try #require(try events(&a, frame).first)
        #expect(e.key == .kline(.m1, "ETHUSDT"))
        #expect(
            e.payload
                == .klines([
                    Candle(
                        interval: .m1, start: 1_786_310_760_000, end: 1_786_310_819_999, open: "1922.43",
                        high: "1922.48", low: "1922.42", close: "1922.48", volume: "15.7", turnover: "30182.0724",
                        closed: true),
                    Candle(
                        interval: .m1, start: 1_786_310_820_000, end: 1_786_310_879_999, open: "1922.48",
                        high: "1922.48", low: "1922.48", close: "1922.48", volume: "0", turnover: "0", closed: false),
                ]))
    }

    @Test("orderbook.200: snapshot then contiguous deltas keep a sorted book; size 0 deletes")
    func orderBook() throws {
        var a = BybitAdapter(category: .spot)
        let snapshot =
            #"{"topic":"orderbook.200.BTCUSDT","ts":1,"type":"snapshot","data":{"s":"BTCUSDT","b":[["65140.4","1"],["65140","2"],["65139.9","3"],["65100","4"]],"a":[["65154.6","1"],["65239.1","2"],["65239","3"]],"u":10,"seq":1},"cts":1}"#
        let delta =
            #"{"topic":"orderbook.200.BTCUSDT","ts":2,"type":"delta","data":{"s":"BTCUSDT","b":[["65140.4","0.875077"],["65140","0"]],"a":[["65154.6","0.09948"],["65154.7","0.123013"],["65239","0.155135"],["65239.1","0"]],"u":11,"seq":2},"cts":2}"#
        _ = try events(&a, snapshot)
        let e = try #require(try events(&a, delta).first)
        #expect(
            e.key == .book("BTCUSDT", depth: 200, .bybitSpot),
            "the topic's own key; the connection re-keys it per stream")
        #expect(
            e.payload
                == .book(
                    Book(
                        bids: [
                            .init(price: "65140.4", size: "0.875077"), .init(price: "65139.9", size: "3"),
                            .init(price: "65100", size: "4"),
                        ],
                        asks: [
                            .init(price: "65154.6", size: "0.09948"), .init(price: "65154.7", size: "0.123013"),
                            .init(price: "65239", size: "0.155135"),
                        ],
                        updateId: 11)))
        // A gap in update ids asks for a resubscribe instead of serving a wrong book.
        let gap = delta.replacingOccurrences(of: #""u":11"#, with: #""u":13"#)
        #expect(
            try a.decode(gap, receivedAt: 0) == [
                .resync(
                    .book("BTCUSDT", depth: 200, .bybitSpot),
                    reason: "orderbook.200.BTCUSDT: update id gap (had 11, got 13)")
            ])
    }

    @Test("the recorded orderbook.200 streams replay without a gap and stay crossed-free")
    func recordedBooks() throws {
        for file in ["bybit/orderbook200_linear.jsonl", "bybit/orderbook200_spot.jsonl"] {
            var a = BybitAdapter(category: file.contains("spot") ? .spot : .linear)
            var books = 0
            for frame in try Samples.lines(file) {
                for m in try a.decode(frame, receivedAt: 0) {
                    switch m {
                    case .event(let e):
                        guard case .book(let b) = e.payload else { continue }
                        books += 1
                        if let bid = b.bids.first, let ask = b.asks.first {
                            #expect(
                                DecimalText.compare(bid.price, ask.price) < 0,
                                "\(file): crossed book at u=\(b.updateId)")
                        }
                    case .resync(_, let reason):
                        Issue.record("\(file): unexpected resync: \(reason)")
                    default: break
                    }
                }
            }
            #expect(books > 500)
        }
    }

    @Test("liquidations: allLiquidation arrays and the legacy object")
    func liquidations() throws {
        var a = BybitAdapter(category: .linear)
        let frame =
            #"{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}"#
        let e = try #require(try events(&a, frame).first)
        #expect(e.key == .liquidation("ROSEUSDT"))
        #expect(
            e.payload
                == .liquidations([Liquidation(side: .sell, price: "0.04499", size: "20000", time: 1_739_502_302_929)]))
        let legacy =
            #"{"topic":"liquidation.XRPUSD","type":"snapshot","ts":1680673944093,"data":{"updatedTime":1680673944093,"symbol":"XRPUSD","side":"Sell","size":"6949","price":"0.5149"}}"#
        let l = try #require(try events(&a, legacy).first)
        #expect(
            l.payload
                == .liquidations([Liquidation(side: .sell, price: "0.5149", size: "6949", time: 1_680_673_944_093)]))
    }

    @Test("acks and pongs of each category")
    func control() throws {
        var spot = BybitAdapter(category: .spot)
        var linear = BybitAdapter(category: .linear)
        #expect(
            try spot.decode(
                #"{"success":true,"ret_msg":"subscribe","conn_id":"d9avt8shteepr00gfc1g-4zd1x","op":"subscribe"}"#,
                receivedAt: 0) == [.ack(requestId: nil, success: true, message: "subscribe")])
        #expect(
            try linear.decode(
                #"{"success":true,"ret_msg":"","conn_id":"x","req_id":"","op":"subscribe"}"#, receivedAt: 0) == [
                    .ack(requestId: nil, success: true, message: "")
                ])
        #expect(
            try linear.decode(
                #"{"success":false,"ret_msg":"error:handler not found,topic:publicTrade.NOTASYMBOL","conn_id":"x","req_id":"7","op":"subscribe"}"#,
                receivedAt: 0) == [
                    .ack(
                        requestId: "7", success: false, message: "error:handler not found,topic:publicTrade.NOTASYMBOL")
                ])
        #expect(
            try spot.decode(
                #"{"success":false,"ret_msg":"args size \u003e10","conn_id":"x","op":"subscribe"}"#, receivedAt: 0) == [
                    .ack(requestId: nil, success: false, message: "args size >10")
                ])
        #expect(
            try spot.decode(#"{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}"#, receivedAt: 0) == [.pong])
        #expect(try linear.decode(#"{"args":["1672916271846"],"op":"pong"}"#, receivedAt: 0) == [.pong])
    }

    @Test("spot subscribe requests carry at most 10 args; linear packs more")
    func requestSplitting() {
        let topics = (0..<25).map { "publicTrade.S\($0)USDT" }
        let spot = BybitAdapter(category: .spot).requests(op: "subscribe", topics: topics, firstRequestId: 1)
        #expect(spot.map(\.topics.count) == [10, 10, 5])
        #expect(spot.map(\.requestId) == ["1", "2", "3"])
        #expect(spot[0].frame.hasPrefix(#"{"req_id":"1","op":"subscribe","args":["publicTrade.S0USDT","#))
        let linear = BybitAdapter(category: .linear).requests(op: "subscribe", topics: topics, firstRequestId: 1)
        #expect(linear.count == 1 && linear[0].topics == topics)
    }

    @Test("topic mapping for every kind, and back")
    func topics() throws {
        #expect(try BybitTopics.topic(for: .ticker("BTCUSDT")).get() == "tickers.BTCUSDT")
        #expect(try BybitTopics.topic(for: .trade("BTCUSDT")).get() == "publicTrade.BTCUSDT")
        #expect(try BybitTopics.topic(for: .kline(.h1, "BTCUSDT")).get() == "kline.60.BTCUSDT")
        #expect(try BybitTopics.topic(for: .kline(.d1, "BTCUSDT")).get() == "kline.D.BTCUSDT")
        #expect(try BybitTopics.topic(for: .book("BTCUSDT")).get() == "orderbook.1.BTCUSDT")
        #expect(try BybitTopics.topic(for: .book("BTCUSDT", depth: 10)).get() == "orderbook.50.BTCUSDT")
        #expect(try BybitTopics.topic(for: .liquidation("BTCUSDT")).get() == "allLiquidation.BTCUSDT")
        #expect(throws: VenueRejection.self) { try BybitTopics.topic(for: .liquidation("BTCUSDT", .bybitSpot)).get() }
        #expect(throws: VenueRejection.self) { try BybitTopics.topic(for: .book("BTCUSDT", depth: 5000)).get() }
        #expect(BybitTopics.parse(topic: "kline.240.ETHUSDT") == .init(kind: .kline, symbol: "ETHUSDT", interval: .h4))
    }
}

@Suite("Bybit books: u == 1 is a service restart, overwrite")
struct BybitBookRestartTests {
    @Test("a delta with u == 1 replaces the whole book instead of counting as a gap; deltas continue from it")
    func restartOverwrites() throws {
        var a = BybitAdapter(category: .linear)
        func frame(_ type: String, _ u: Int, bids: String, asks: String) -> String {
            #"{"topic":"orderbook.50.BTCUSDT","ts":1,"type":"\#(type)","data":{"s":"BTCUSDT","b":\#(bids),"a":\#(asks),"u":\#(u),"seq":1},"cts":1}"#
        }
        _ = try a.decode(
            frame("snapshot", 500, bids: #"[["100","1"],["99","2"]]"#, asks: #"[["101","1"]]"#), receivedAt: 1)
        _ = try a.decode(frame("delta", 501, bids: #"[["98","3"]]"#, asks: "[]"), receivedAt: 1)
        let restart = try a.decode(frame("delta", 1, bids: #"[["200","5"]]"#, asks: #"[["201","6"]]"#), receivedAt: 2)
        guard case .event(let e) = try #require(restart.first), case .book(let book) = e.payload else {
            Issue.record("expected a book event, got \(restart)")
            return
        }
        #expect(book.bids == [.init(price: "200", size: "5")], "the old levels are gone")
        #expect(book.asks == [.init(price: "201", size: "6")])
        #expect(book.updateId == 1)
        let next = try a.decode(frame("delta", 2, bids: #"[["199","1"]]"#, asks: "[]"), receivedAt: 3)
        guard case .event(let e2) = try #require(next.first), case .book(let b2) = e2.payload else {
            Issue.record("expected a book event after the restart, got \(next)")
            return
        }
        #expect(b2.bids.map(\.price) == ["200", "199"])
    }
}
