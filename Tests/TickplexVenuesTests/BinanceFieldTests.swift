import Testing
import TickplexModel

@testable import TickplexVenues

@Suite("Binance frames decode field by field")
struct BinanceFieldTests {
    func event(_ adapter: inout BinanceAdapter, _ frame: String, rawStream: String? = nil) throws -> MarketEvent {
        let messages = try adapter.decode(frame, receivedAt: 99, rawStream: rawStream)
        guard case .event(let e) = messages.first else { throw VenueDecodeError("no event in \(messages)") }
        return e
    }

    @Test("combined kline frame")
    func kline() throws {
        var a = BinanceAdapter(market: .spot)
        let e = try event(
            &a,
            #"{"stream":"nknusdt@kline_1m","data":{"e":"kline","E":1633998523963,"s":"NKNUSDT","k":{"t":1633998480000,"T":1633998539999,"s":"NKNUSDT","i":"1m","f":19862761,"L":19862790,"o":"0.35270000","c":"0.35280000","h":"0.35280000","l":"0.35220000","v":"25877.00000000","n":30,"x":false,"q":"9116.04600000","V":"58.00000000","Q":"20.46240000","B":"0"}}}"#
        )
        #expect(e.key == .kline(.m1, "NKNUSDT", .binanceSpot))
        #expect(e.exchangeTime == 1_633_998_523_963)
        #expect(
            e.payload
                == .klines([
                    Candle(
                        interval: .m1, start: 1_633_998_480_000, end: 1_633_998_539_999, open: "0.35270000",
                        high: "0.35280000", low: "0.35220000", close: "0.35280000", volume: "25877.00000000",
                        turnover: "9116.04600000", closed: false)
                ]))
    }

    @Test("spot bookTicker has no event time: the receive time stands in")
    func bookTicker() throws {
        var a = BinanceAdapter(market: .spot)
        let line = try Samples.lines("binance/bookTicker.jsonl")[0]
        let e = try event(&a, line)
        #expect(e.key.kind == .book && e.key.depth == nil && e.key.venue == .binanceSpot)
        #expect(e.exchangeTime == 99)
        guard case .book(let b) = e.payload else { return }
        #expect(b.bids.count == 1 && b.asks.count == 1 && b.updateId > 0)
    }

    @Test("raw trade: buyer-is-maker means the taker sold")
    func trade() throws {
        var a = BinanceAdapter(market: .spot)
        let e = try event(
            &a,
            #"{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}"#
        )
        #expect(e.key == .trade("BNBBTC", .binanceSpot))
        #expect(
            e.payload
                == .trades([
                    Trade(
                        id: "12345", price: "0.001", size: "100", side: .sell, time: 1_672_515_782_136,
                        isBlockTrade: false)
                ]))
    }

    @Test("24h ticker maps price, bid/ask and percent; fields Binance lacks stay null")
    func ticker() throws {
        var a = BinanceAdapter(market: .spot)
        let e = try event(
            &a,
            #"{"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018","x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}"#
        )
        guard case .ticker(let t) = e.payload else { return }
        #expect(t.price == "0.0025" && t.change24hPercent == "250.00" && t.high24h == "0.0025" && t.turnover24h == "18")
        #expect(t.bid == PriceLevel(price: "0.0024", size: "10") && t.ask == PriceLevel(price: "0.0026", size: "100"))
        #expect(t.markPrice == nil && t.fundingRate == nil && t.openInterest == nil)
    }

    @Test("partial depth: spot shape routed by stream name; USD-M depthUpdate shape")
    func partialDepth() throws {
        var spot = BinanceAdapter(market: .spot)
        let e = try event(&spot, try Samples.lines("binance/depth_partial.jsonl")[0])
        #expect(e.key == .book("ETHUSDT", depth: 20, .binanceSpot))
        #expect(
            e.payload
                == .book(
                    Book(
                        bids: [
                            .init(price: "1782.00000000", size: "6.48300000"),
                            .init(price: "1781.95000000", size: "0.03000000"),
                        ],
                        asks: [
                            .init(price: "1782.01000000", size: "15.46080000"),
                            .init(price: "1782.02000000", size: "0.00780000"),
                        ], updateId: 17_044_571_457)))
        var usdm = BinanceAdapter(market: .usdm)
        let f = try event(&usdm, try Samples.lines("binance/futures_usdm/depth_partial.jsonl")[0])
        #expect(f.key == .book("BTCUSDT", depth: 5, .binanceUSDM))
        guard case .book(let b) = f.payload else { return }
        #expect(b.bids.count == 5 && b.updateId == 1_594_316_863_126)
    }

    @Test("forceOrder: a SELL order liquidates a long")
    func forceOrder() throws {
        var a = BinanceAdapter(market: .usdm)
        let e = try event(
            &a,
            #"{"stream":"1000luncbusd@forceOrder","data":{"e":"forceOrder","E":1654852759373,"o":{"s":"1000LUNCBUSD","S":"SELL","o":"LIMIT","f":"IOC","q":"100","p":"0.0719248","ap":"0.0736000","X":"FILLED","l":"100","z":"100","T":1654852759361}}}"#
        )
        #expect(e.key == .liquidation("1000LUNCBUSD", .binanceUSDM))
        #expect(
            e.payload
                == .liquidations([Liquidation(side: .buy, price: "0.0736000", size: "100", time: 1_654_852_759_361)]))
    }

    @Test("control replies: result null, errors with their words, serverShutdown")
    func control() throws {
        var a = BinanceAdapter(market: .spot)
        #expect(
            try a.decode(#"{"result":null,"id":1}"#, receivedAt: 0) == [
                .ack(requestId: "1", success: true, message: "")
            ])
        #expect(
            try a.decode(#"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}"#, receivedAt: 0) == [
                .ack(requestId: "2", success: false, message: "code 2: Invalid request: invalid stream")
            ])
        #expect(try a.decode(#"{"e":"serverShutdown","E":1770123456789}"#, receivedAt: 0) == [.serverShutdown])
    }

    @Test("stream names for every kind; limits on depth and liquidations")
    func topics() throws {
        let spot = BinanceAdapter(market: .spot)
        let usdm = BinanceAdapter(market: .usdm)
        #expect(try spot.topic(for: .ticker("BTCUSDT", .binanceSpot)).get() == "btcusdt@ticker")
        #expect(try spot.topic(for: .kline(.h4, "BTCUSDT", .binanceSpot)).get() == "btcusdt@kline_4h")
        #expect(try spot.topic(for: .book("BTCUSDT", .binanceSpot)).get() == "btcusdt@bookTicker")
        #expect(try spot.topic(for: .book("BTCUSDT", depth: 7, .binanceSpot)).get() == "btcusdt@depth10@100ms")
        #expect(try spot.topic(for: .book("BTCUSDT", depth: 50, .binanceSpot)).get() == "btcusdt@depth@100ms")
        #expect(throws: VenueRejection.self) { try spot.topic(for: .book("BTCUSDT", depth: 5000, .binanceSpot)).get() }
        #expect(throws: VenueRejection.self) { try spot.topic(for: .liquidation("BTCUSDT", .binanceSpot)).get() }
        #expect(try usdm.topic(for: .liquidation("BTCUSDT", .binanceUSDM)).get() == "btcusdt@forceOrder")
        #expect(usdm.route(for: "btcusdt@bookTicker") == "/public" && usdm.route(for: "btcusdt@aggTrade") == "/market")
        let reqs = spot.requests(method: "SUBSCRIBE", topics: (0..<450).map { "s\($0)@trade" }, firstRequestId: 5)
        #expect(reqs.map(\.topics.count) == [200, 200, 50] && reqs.map(\.requestId) == ["5", "6", "7"])
    }
}
