public import TickplexModel

/// Decodes Binance spot and USD-M market-stream frames (raw `/ws` or combined `/stream`) into normalized events,
/// and frames live SUBSCRIBE/UNSUBSCRIBE requests.
public struct BinanceAdapter: Sendable {
    public enum Market: String, Sendable {
        case spot, usdm
    }

    /// 5 inbound messages per second per connection (pongs included); 1024 streams per connection.
    public static let maxMessagesPerSecond = 5
    public static let maxStreamsPerConnection = 1024
    /// Params per SUBSCRIBE: long lists are reported to fail silently, so requests stay moderate.
    public static let maxParamsPerRequest = 200
    public static let partialDepths = [5, 10, 20]
    /// REST request weights by `limit`, as Binance documents them (spot `/api/v3/…`, USD-M `/fapi/v1/…`).
    public static func klinesWeight(limit: Int, usdm: Bool) -> Int {
        guard usdm else { return 2 }
        return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10
    }

    public static func depthWeight(limit: Int, usdm: Bool) -> Int {
        usdm
            ? (limit <= 50 ? 2 : limit <= 100 ? 5 : limit <= 500 ? 10 : 20)
            : (limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250)
    }

    /// Books deeper than 20 levels come from the diff stream and a REST snapshot of this many levels.
    public static let maxDiffBookDepth = 1000

    public let market: Market
    public let venue: Venue
    /// Diff-depth books per stream (`btcusdt@depth@100ms`).
    private var diffBooks: [String: BinanceDiffBook] = [:]

    public init(market: Market) {
        self.market = market
        self.venue = market == .spot ? .binanceSpot : .binanceUSDM
    }

    // MARK: - Topics

    /// The stream name for a key (lower-case symbol), or why Binance cannot serve it.
    public func topic(for key: StreamKey) -> Result<String, VenueRejection> {
        let s = key.symbol.lowercased()
        switch key.kind {
        case .ticker:
            return .success("\(s)@ticker")
        case .trade:
            return .success("\(s)@trade")
        case .kline:
            guard let interval = key.interval else { return .failure(.init("a kline stream needs an interval")) }
            return .success("\(s)@kline_\(interval.rawValue)")
        case .book:
            guard let depth = key.depth else { return .success("\(s)@bookTicker") }
            guard let levels = Self.partialDepths.first(where: { $0 >= depth }) else {
                // Deeper than the partial streams: the diff stream and a REST snapshot (BinanceDiffBook).
                guard depth <= Self.maxDiffBookDepth else {
                    return .failure(
                        .init("Binance books go to \(Self.maxDiffBookDepth) levels; ask for book:1000 or fewer"))
                }
                return .success("\(s)@depth@100ms")
            }
            return .success("\(s)@depth\(levels)@100ms")
        case .liquidation:
            guard market == .usdm else {
                return .failure(.init("Binance publishes liquidations for USD-M futures only (binance.usdm)"))
            }
            return .success("\(s)@forceOrder")
        }
    }

    /// Every upstream stream a key needs. A USD-M ticker is three: `@ticker` (last price, 24-hour figures),
    /// `@markPrice@1s` (mark, index, funding rate, next funding time) and `@bookTicker` (best bid and ask), merged
    /// into one ticker; every other key is one stream.
    public func topics(for key: StreamKey) -> Result<[String], VenueRejection> {
        topic(for: key).map { primary in
            guard market == .usdm, key.kind == .ticker else { return [primary] }
            let s = key.symbol.lowercased()
            return [primary, "\(s)@markPrice@1s", "\(s)@bookTicker"]
        }
    }

    /// USD-M routes streams by path since 2026 (a stream on the wrong path is accepted and stays silent): book
    /// tickers, depth and raw trades on `/public`; aggregate trades, mark prices, klines, tickers and liquidations
    /// on `/market`.
    public func route(for topic: String) -> String {
        guard market == .usdm, let at = topic.firstIndex(of: "@") else { return "" }
        let rest = topic[topic.index(after: at)...]
        return rest.hasPrefix("bookTicker") || rest.hasPrefix("depth") || rest == "trade" ? "/public" : "/market"
    }

    /// The key a stream name stands for (the connection re-keys it for every stream its topic serves).
    public func canonicalKey(stream: String) -> StreamKey? {
        guard let at = stream.firstIndex(of: "@") else { return nil }
        let symbol = stream[..<at].uppercased()
        let rest = stream[stream.index(after: at)...]
        if rest == "ticker" || rest == "miniTicker" { return StreamKey(venue: venue, kind: .ticker, symbol: symbol) }
        if rest == "trade" || rest == "aggTrade" { return StreamKey(venue: venue, kind: .trade, symbol: symbol) }
        if rest.hasPrefix("kline_") {
            let name = rest.dropFirst("kline_".count).split(separator: "@").first.map(String.init) ?? ""
            guard let interval = KlineInterval(rawValue: name) else { return nil }
            return StreamKey(venue: venue, kind: .kline, symbol: symbol, interval: interval)
        }
        if rest == "bookTicker" { return StreamKey(venue: venue, kind: .book, symbol: symbol) }
        if rest.hasPrefix("depth") {
            // Only partial depth (`depth20`, `depth5@100ms`); the diff stream `depth[@100ms]` maps to no key.
            guard let levels = Int(rest.dropFirst(5).prefix { $0.isNumber }) else { return nil }
            return StreamKey(venue: venue, kind: .book, symbol: symbol, depth: levels)
        }
        if rest == "forceOrder" { return StreamKey(venue: venue, kind: .liquidation, symbol: symbol) }
        return nil
    }

    private func keys(stream: String?, fallback: StreamKey?) -> [StreamKey] {
        if let stream, let key = canonicalKey(stream: stream) { return [key] }
        return fallback.map { [$0] } ?? []
    }

    // MARK: - Requests

    /// `{"method":"SUBSCRIBE","params":[…],"id":N}` frames, at most `maxParamsPerRequest` streams each.
    public func requests(method: String, topics: [String], firstRequestId: Int) -> [(
        frame: String, requestId: String, topics: [String]
    )] {
        var out: [(String, String, [String])] = []
        var start = 0
        while start < topics.count {
            let chunk = Array(topics[start..<min(start + Self.maxParamsPerRequest, topics.count)])
            start += chunk.count
            let id = firstRequestId + out.count
            let params = chunk.map { "\"\($0)\"" }.joined(separator: ",")
            out.append((#"{"method":"\#(method)","params":[\#(params)],"id":\#(id)}"#, String(id), chunk))
        }
        return out
    }

    // MARK: - Decoding

    /// `rawStream` names the stream of a raw `/ws/<stream>` connection (raw partial-depth frames carry no symbol).
    public mutating func decode(_ frame: String, receivedAt: Int64, rawStream: String? = nil) throws(VenueDecodeError)
        -> [VenueMessage]
    {
        let json: JSONValue
        do {
            json = try JSONParser.parse(frame)
        } catch {
            throw VenueDecodeError("not JSON: \(error)")
        }
        return try decode(json, receivedAt: receivedAt, rawStream: rawStream)
    }

    public mutating func decode(_ json: JSONValue, receivedAt: Int64, rawStream: String? = nil)
        throws(VenueDecodeError) -> [VenueMessage]
    {
        switch json {
        case .array(let items):
            // `!miniTicker@arr` and friends: all-market arrays, which no client stream maps to.
            for item in items where item.objectPairs == nil { throw VenueDecodeError("array element is not an object") }
            return [.ignored]
        case .object:
            break
        default:
            throw VenueDecodeError("frame is not a JSON object")
        }
        if let error = json["error"] {
            let code = error["code"]?.text ?? "?"
            let message = error["msg"]?.string ?? "unknown error"
            return [.ack(requestId: json["id"]?.text, success: false, message: "code \(code): \(message)")]
        }
        if let pairs = json.objectPairs, pairs.contains(where: { $0.key == "result" }), json["id"] != nil {
            return [.ack(requestId: json["id"]?.text, success: true, message: "")]
        }
        if let stream = json["stream"]?.string, let data = json["data"] {
            return try event(data, stream: stream, receivedAt: receivedAt)
        }
        return try event(json, stream: rawStream, receivedAt: receivedAt)
    }

    private mutating func event(_ data: JSONValue, stream: String?, receivedAt: Int64) throws(VenueDecodeError)
        -> [VenueMessage]
    {
        if case .array = data { return [.ignored] }
        guard case .object = data else { throw VenueDecodeError("event is not an object") }
        let type = data["e"]?.string
        let time = data["E"]?.int64 ?? data["T"]?.int64 ?? receivedAt
        let symbol = data["s"]?.string
        func fallback(_ kind: StreamKind, interval: KlineInterval? = nil, depth: Int? = nil) -> StreamKey? {
            symbol.map { StreamKey(venue: venue, kind: kind, symbol: $0, interval: interval, depth: depth) }
        }
        func emit(_ keys: [StreamKey], _ payload: MarketEvent.Payload) -> [VenueMessage] {
            keys.map { .event(MarketEvent(key: $0, exchangeTime: time, payload: payload)) }
        }
        switch type {
        case "24hrTicker", "24hrMiniTicker":
            return emit(keys(stream: stream, fallback: fallback(.ticker)), .ticker(try Self.ticker(data)))
        case "markPriceUpdate":
            // USD-M: the mark-price part of the ticker (the connection merges the three parts; see TickerMerge).
            let sym = try data.requiredString("s")
            var part = Ticker(symbol: sym)
            part.markPrice = try data.requiredString("p")
            part.indexPrice = data["i"]?.text
            part.fundingRate = data["r"]?.text
            part.nextFundingTime = data["T"]?.int64
            return [
                .event(
                    MarketEvent(
                        key: StreamKey(venue: venue, kind: .ticker, symbol: sym), exchangeTime: time,
                        payload: .ticker(part)))
            ]
        case "trade", "aggTrade":
            let id = try data.requiredString(type == "trade" ? "t" : "a")
            let trade = Trade(
                id: id, price: try data.requiredString("p"), size: try data.requiredString("q"),
                side: data["m"]?.bool == true ? .sell : .buy, time: try data.requiredInt("T"), isBlockTrade: false)
            return emit(keys(stream: stream, fallback: fallback(.trade)), .trades([trade]))
        case "kline":
            guard let k = data["k"] else { throw VenueDecodeError("kline without k") }
            guard let interval = KlineInterval(rawValue: try k.requiredString("i")) else {
                // 1s, 8h, 3d: valid Binance intervals that the wire contract does not offer.
                return [.ignored]
            }
            let candle = Candle(
                interval: interval, start: try k.requiredInt("t"), end: try k.requiredInt("T"),
                open: try k.requiredString("o"), high: try k.requiredString("h"), low: try k.requiredString("l"),
                close: try k.requiredString("c"), volume: try k.requiredString("v"),
                turnover: try k.requiredString("q"), closed: k["x"]?.bool ?? false)
            return emit(keys(stream: stream, fallback: fallback(.kline, interval: interval)), .klines([candle]))
        case "bookTicker",
            nil where data["b"]?.string != nil && data["u"] != nil:
            let book = Book(
                bids: [PriceLevel(price: try data.requiredString("b"), size: try data.requiredString("B"))],
                asks: [PriceLevel(price: try data.requiredString("a"), size: try data.requiredString("A"))],
                updateId: try data.requiredInt("u"))
            var out = emit(keys(stream: stream, fallback: fallback(.book)), .book(book))
            // USD-M: also the best-bid-and-ask part of the ticker (merged by the connection, for followed tickers).
            if market == .usdm, let sym = symbol {
                var part = Ticker(symbol: sym)
                part.bid = book.bids.first
                part.ask = book.asks.first
                out.append(
                    .event(
                        MarketEvent(
                            key: StreamKey(venue: venue, kind: .ticker, symbol: sym), exchangeTime: time,
                            payload: .ticker(part))))
            }
            return out
        case nil where data["lastUpdateId"] != nil:
            // Spot partial depth: a full top-N snapshot each time; the symbol is only in the stream name.
            let book = Book(
                bids: try data.priceLevels("bids"), asks: try data.priceLevels("asks"),
                updateId: try data.requiredInt("lastUpdateId"))
            let depthKeys = keys(stream: stream, fallback: nil)
            guard !depthKeys.isEmpty else { throw VenueDecodeError("partial depth frame without a stream name") }
            return depthKeys.map { key in
                var top = book
                if let depth = key.depth {
                    top.bids = Array(book.bids.prefix(depth))
                    top.asks = Array(book.asks.prefix(depth))
                }
                return .event(MarketEvent(key: key, exchangeTime: time, payload: .book(top)))
            }
        case "depthUpdate" where stream.map(Self.isDiffStream) == true:
            let symbol = try data.requiredString("s")
            let diff = BinanceDiffBook.Diff(
                first: try data.requiredInt("U"), last: try data.requiredInt("u"), previous: data["pu"]?.int64,
                bids: try data.priceLevels("b"), asks: try data.priceLevels("a"))
            let name = stream ?? ""
            var book = diffBooks[name] ?? BinanceDiffBook(usdm: market == .usdm)
            let outputs = try book.diff(diff)
            diffBooks[name] = book
            return diffMessages(outputs, stream: name, symbol: symbol, book: book, time: time)
        case "depthUpdate":
            let bids = try data.priceLevels("b")
            let asks = try data.priceLevels("a")
            let u = try data.requiredInt("u")
            _ = try data.requiredInt("U")
            // USD-M partial depth streams use this shape for full top-N snapshots; the diff stream `@depth`
            // needs a REST snapshot to build a book, which this proxy does not offer.
            guard let stream, let key = canonicalKey(stream: stream), let depth = key.depth else { return [.ignored] }
            let book = Book(bids: Array(bids.prefix(depth)), asks: Array(asks.prefix(depth)), updateId: u)
            return emit(keys(stream: stream, fallback: nil), .book(book))
        case "forceOrder":
            guard let o = data["o"] else { throw VenueDecodeError("forceOrder without o") }
            // The order side: a SELL order closes a long position, i.e. a long ("buy" position) was liquidated.
            let side: Trade.Side = try o.requiredString("S") == "SELL" ? .buy : .sell
            let price: String
            if let average = o["ap"]?.text { price = average } else { price = try o.requiredString("p") }
            let liquidation = Liquidation(
                side: side, price: price, size: try o.requiredString("q"),
                time: try o.requiredInt("T"))
            let fallbackKey = o["s"]?.string.map { StreamKey(venue: venue, kind: .liquidation, symbol: $0) }
            return emit(keys(stream: stream, fallback: fallbackKey), .liquidations([liquidation]))
        case "serverShutdown":
            return [.serverShutdown]
        default:
            return [.ignored]
        }
    }

    static func isDiffStream(_ stream: String) -> Bool {
        stream.hasSuffix("@depth") || stream.hasSuffix("@depth@100ms") || stream.hasSuffix("@depth@500ms")
    }

    /// A REST depth snapshot for a diff stream (`/api/v3/depth`, `/fapi/v1/depth`, `limit=1000`).
    public mutating func applyDepthSnapshot(
        stream: String, symbol: String, lastUpdateId: Int64, bids: [PriceLevel], asks: [PriceLevel], receivedAt: Int64
    ) throws(VenueDecodeError) -> [VenueMessage] {
        var book = diffBooks[stream] ?? BinanceDiffBook(usdm: market == .usdm)
        let outputs = try book.snapshot(lastUpdateId: lastUpdateId, bids: bids, asks: asks)
        diffBooks[stream] = book
        return diffMessages(outputs, stream: stream, symbol: symbol, book: book, time: receivedAt)
    }

    /// The stream is no longer carried: its book goes.
    public mutating func forgetDiffBook(_ stream: String) { diffBooks[stream] = nil }

    private func diffMessages(
        _ outputs: [BinanceDiffBook.Output], stream: String, symbol: String, book: BinanceDiffBook, time: Int64
    ) -> [VenueMessage] {
        outputs.map { output in
            switch output {
            case .changed:
                // The connection re-keys it for every book:N on the stream and trims it to N.
                .event(
                    MarketEvent(
                        key: StreamKey(venue: venue, kind: .book, symbol: symbol, depth: Self.maxDiffBookDepth),
                        exchangeTime: time, payload: .book(book.book.top(Self.maxDiffBookDepth))))
            case .needSnapshot(let reason):
                .depthSnapshotNeeded(stream: stream, symbol: symbol, reason: reason)
            }
        }
    }

    static func ticker(_ d: JSONValue) throws(VenueDecodeError) -> Ticker {
        var t = Ticker(symbol: try d.requiredString("s"))
        t.price = try d.requiredString("c")
        t.high24h = d["h"]?.text
        t.low24h = d["l"]?.text
        t.volume24h = d["v"]?.text
        t.turnover24h = d["q"]?.text
        t.change24hPercent = d["P"]?.text
        if let p = d["b"]?.text, let z = d["B"]?.text { t.bid = PriceLevel(price: p, size: z) }
        if let p = d["a"]?.text, let z = d["A"]?.text { t.ask = PriceLevel(price: p, size: z) }
        return t
    }
}
