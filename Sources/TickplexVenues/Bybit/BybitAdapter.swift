public import TickplexModel

/// Decodes Bybit V5 public frames of one connection (one category) into normalized events, and frames its
/// requests. Holds the per-topic state that decoding needs: merged linear/inverse tickers and local books.
///
/// Not thread-safe by design: one adapter belongs to one upstream connection and runs on its event loop.
public struct BybitAdapter: Sendable {
    public enum Category: String, Sendable {
        case spot, linear, inverse, option

        public init?(venue: Venue) {
            switch venue {
            case .bybitSpot: self = .spot
            case .bybitLinear: self = .linear
            case .bybitInverse: self = .inverse
            default: return nil
            }
        }

        /// Spot takes at most 10 args per subscribe request.
        public var maxArgsPerRequest: Int { self == .spot ? 10 : 200 }
    }

    /// The args array of one connection must stay under 21,000 characters (all categories).
    public static let maxArgsCharacters = 21_000

    public let category: Category
    public let venue: Venue
    private var tickers: [String: BybitTickerState] = [:]
    /// Parsed topic names: the same few topics repeat on every frame.
    private var topicCache: [String: BybitTopics.Parsed] = [:]
    private var books: [String: LocalOrderBook] = [:]
    /// Book topics that asked for a resubscribe: their deltas are dropped quietly until the fresh snapshot, so one
    /// gap costs one resubscribe, not one per delta still in flight.
    private var awaitingSnapshot: Set<String> = []

    public init(category: Category, venue: Venue? = nil) {
        self.category = category
        self.venue =
            venue
            ?? {
                switch category {
                case .spot: .bybitSpot
                case .linear, .option: .bybitLinear
                case .inverse: .bybitInverse
                }
            }()
    }

    // MARK: - Requests

    public static let pingFrame = #"{"op":"ping"}"#

    /// Subscribe (or unsubscribe) frames for `topics`, split within the category's limits. `firstRequestId`
    /// numbers the requests; each frame carries its `req_id` so acks can be matched even out of order.
    public func requests(op: String, topics: [String], firstRequestId: Int) -> [(
        frame: String, requestId: String, topics: [String]
    )] {
        var out: [(String, String, [String])] = []
        var batch: [String] = []
        var chars = 0
        func flush() {
            guard !batch.isEmpty else { return }
            let id = String(firstRequestId + out.count)
            let args = batch.map { "\"\($0)\"" }.joined(separator: ",")
            out.append((#"{"req_id":"\#(id)","op":"\#(op)","args":[\#(args)]}"#, id, batch))
            batch = []
            chars = 0
        }
        for topic in topics {
            if batch.count == category.maxArgsPerRequest || chars + topic.count + 3 > Self.maxArgsCharacters { flush() }
            batch.append(topic)
            chars += topic.count + 3
        }
        flush()
        return out
    }

    private func keys(for topic: String, _ parsed: BybitTopics.Parsed) -> [StreamKey] {
        let depth = parsed.bookDepth.flatMap { $0 == 1 ? nil : $0 }
        return [
            StreamKey(venue: venue, kind: parsed.kind, symbol: parsed.symbol, interval: parsed.interval, depth: depth)
        ]
    }

    // MARK: - Decoding

    public mutating func decode(_ frame: String, receivedAt: Int64) throws(VenueDecodeError) -> [VenueMessage] {
        let json: JSONValue
        do {
            json = try JSONParser.parse(frame)
        } catch {
            throw VenueDecodeError("not JSON: \(error)")
        }
        return try decode(json, receivedAt: receivedAt)
    }

    public mutating func decode(_ json: JSONValue, receivedAt: Int64) throws(VenueDecodeError) -> [VenueMessage] {
        guard case .object = json else { throw VenueDecodeError("frame is not a JSON object") }
        if let topic = json["topic"]?.string {
            return try decodeData(topic: topic, json, receivedAt: receivedAt)
        }
        if let op = json["op"]?.string {
            let message = json["ret_msg"]?.string ?? ""
            if op == "pong" || (op == "ping" && message == "pong") { return [.pong] }
            guard op == "subscribe" || op == "unsubscribe" else { return [.ignored] }
            let success = json["success"]?.bool ?? false
            let requestId = json["req_id"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            return [.ack(requestId: requestId, success: success, message: message)]
        }
        if json["type"]?.string == "COMMAND_RESP" {
            return [.ack(requestId: json["req_id"]?.string, success: json["success"]?.bool ?? false, message: "")]
        }
        return [.ignored]
    }

    private mutating func decodeData(topic: String, _ json: JSONValue, receivedAt: Int64) throws(VenueDecodeError)
        -> [VenueMessage]
    {
        let parsed: BybitTopics.Parsed
        if let cached = topicCache[topic] {
            parsed = cached
        } else {
            guard let fresh = BybitTopics.parse(topic: topic) else { return [.ignored] }
            if topicCache.count > 4096 { topicCache.removeAll() }
            topicCache[topic] = fresh
            parsed = fresh
        }
        let ts = json["ts"]?.int64 ?? receivedAt
        guard let data = json["data"] else { throw VenueDecodeError("\(topic): missing data") }
        let type = json["type"]?.string ?? "snapshot"
        let keys = keys(for: topic, parsed)
        switch parsed.kind {
        case .ticker:
            let ticker = try mergeTicker(topic: topic, type: type, data: data)
            return keys.map { .event(MarketEvent(key: $0, exchangeTime: ts, payload: .ticker(ticker))) }
        case .trade:
            let trades = try Self.trades(data)
            return keys.map { .event(MarketEvent(key: $0, exchangeTime: ts, payload: .trades(trades))) }
        case .kline:
            let candles = try Self.candles(data, interval: parsed.interval!)
            return keys.map { .event(MarketEvent(key: $0, exchangeTime: ts, payload: .klines(candles))) }
        case .liquidation:
            let items = try parsed.legacyLiquidation ? [Self.legacyLiquidation(data)] : Self.liquidations(data)
            return keys.map { .event(MarketEvent(key: $0, exchangeTime: ts, payload: .liquidations(items))) }
        case .book:
            return try book(topic: topic, type: type, data: data, ts: ts, keys: keys)
        }
    }

    // MARK: Tickers

    /// Linear/inverse: a snapshot replaces the state, a delta overlays the keys it carries (absent = unchanged,
    /// `""` is a value). Spot and option tickers are always snapshots.
    private mutating func mergeTicker(topic: String, type: String, data: JSONValue) throws(VenueDecodeError) -> Ticker {
        guard let pairs = data.objectPairs else { throw VenueDecodeError("\(topic): ticker data is not an object") }
        if type == "delta" {
            guard tickers[topic] != nil else {
                throw VenueDecodeError("\(topic): delta before any snapshot")
            }
            tickers[topic]!.apply(pairs)
        } else {
            var state = BybitTickerState()
            state.apply(pairs)
            tickers[topic] = state
        }
        return tickers[topic]!.ticker
    }

    // MARK: Trades, klines, liquidations

    static func trades(_ data: JSONValue) throws(VenueDecodeError) -> [Trade] {
        guard let items = data.array else { throw VenueDecodeError("trade data is not an array") }
        var out: [Trade] = []
        out.reserveCapacity(items.count)
        for item in items {
            let side = try item.requiredString("S")
            out.append(
                Trade(
                    id: try item.requiredString("i"), price: try item.requiredString("p"),
                    size: try item.requiredString("v"), side: side == "Sell" ? .sell : .buy,
                    time: try item.requiredInt("T"), isBlockTrade: item["BT"]?.bool ?? false))
        }
        return out
    }

    static func candles(_ data: JSONValue, interval: KlineInterval) throws(VenueDecodeError) -> [Candle] {
        guard let items = data.array else { throw VenueDecodeError("kline data is not an array") }
        var out: [Candle] = []
        for item in items {
            out.append(
                Candle(
                    interval: interval, start: try item.requiredInt("start"), end: try item.requiredInt("end"),
                    open: try item.requiredString("open"), high: try item.requiredString("high"),
                    low: try item.requiredString("low"), close: try item.requiredString("close"),
                    volume: try item.requiredString("volume"), turnover: try item.requiredString("turnover"),
                    closed: item["confirm"]?.bool ?? false))
        }
        return out
    }

    static func liquidations(_ data: JSONValue) throws(VenueDecodeError) -> [Liquidation] {
        // The docs call it an object; real frames and the docs example are arrays. Accept both.
        let items = data.array ?? [data]
        var out: [Liquidation] = []
        for item in items {
            out.append(
                Liquidation(
                    side: try item.requiredString("S") == "Sell" ? .sell : .buy, price: try item.requiredString("p"),
                    size: try item.requiredString("v"), time: try item.requiredInt("T")))
        }
        return out
    }

    static func legacyLiquidation(_ item: JSONValue) throws(VenueDecodeError) -> Liquidation {
        Liquidation(
            side: try item.requiredString("side") == "Sell" ? .sell : .buy, price: try item.requiredString("price"),
            size: try item.requiredString("size"), time: try item.requiredInt("updatedTime"))
    }

    // MARK: Books

    private mutating func book(topic: String, type: String, data: JSONValue, ts: Int64, keys: [StreamKey])
        throws(VenueDecodeError) -> [VenueMessage]
    {
        let bids = try data.priceLevels("b")
        let asks = try data.priceLevels("a")
        let u = try data.requiredInt("u")
        var book = books[topic] ?? LocalOrderBook()
        // `u == 1`: the exchange's book service restarted and this message is a whole book, whatever its type says
        // (Bybit: "overwrite").
        if type == "snapshot" || u == 1 {
            try book.reset(bids: bids, asks: asks, updateId: u)
            awaitingSnapshot.remove(topic)
        } else {
            if awaitingSnapshot.contains(topic) { return [] }
            guard book.hasSnapshot else {
                books[topic] = nil
                awaitingSnapshot.insert(topic)
                return keys.map { .resync($0, reason: "\(topic): delta before any snapshot") }
            }
            // No `+ 1` on an exchange value: `Int64.max` would trap.
            guard book.updateId < .max, u == book.updateId + 1 else {
                let reason = "\(topic): update id gap (had \(book.updateId), got \(u))"
                books[topic] = nil
                awaitingSnapshot.insert(topic)
                return keys.map { .resync($0, reason: reason) }
            }
            try book.apply(bids: bids, asks: asks, updateId: u)
        }
        books[topic] = book
        return keys.map { key in
            .event(MarketEvent(key: key, exchangeTime: ts, payload: .book(book.top(key.depth ?? 1))))
        }
    }
}
