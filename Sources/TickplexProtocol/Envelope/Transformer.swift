public import TickplexModel

/// One event encoded in the branded schema, ready to publish: the same bytes go to every subscriber.
public struct EncodedEvent: Sendable, Equatable {
    public var key: StreamKey
    public var seq: UInt64
    public var json: [UInt8]
    /// Kline messages only: the candle, so that closed candles can be kept in history.
    public var candle: Candle?
}

/// Normalized events → the branded JSON of the wire contract, encoded once per event:
/// `{"stream":"<brand>.<venue>.<kind>[.<interval>].<SYMBOL>","type":"update","seq":N,"data":{…},"ts":…,
/// "recvTs":…,"source":"<brand>"}`. `seq` increases by one per stream on this node.
public struct Transformer: Sendable {
    public let brand: String
    private var sequences: [StreamKey: UInt64] = [:]

    public init(brand: String) { self.brand = brand }

    /// The last `seq` given to `key`'s events (0 before the first).
    public func lastSeq(_ key: StreamKey) -> UInt64 { sequences[key] ?? 0 }

    /// The next event of `key` gets `seq + 1`: a node that takes a stream over continues its sequence.
    public mutating func continueSequence(_ key: StreamKey, after seq: UInt64) { sequences[key] = seq }

    public mutating func encode(_ event: MarketEvent, receivedAt: Int64, type: String = "update") -> [EncodedEvent] {
        switch event.payload {
        case .klines(let candles):
            // One exchange message may carry the closed candle and the new one: one message each, in order.
            return candles.map { candle in
                envelope(event, receivedAt: receivedAt, type: type, candle: candle) { w in Self.write(candle, &w) }
            }
        case .ticker(let t):
            return [envelope(event, receivedAt: receivedAt, type: type) { w in Self.write(t, &w) }]
        case .trades(let trades):
            return [envelope(event, receivedAt: receivedAt, type: type) { w in Self.write(trades, &w) }]
        case .book(let b):
            let top = event.key.depth == nil
            return [envelope(event, receivedAt: receivedAt, type: type) { w in Self.write(b, top: top, &w) }]
        case .liquidations(let items):
            return [envelope(event, receivedAt: receivedAt, type: type) { w in Self.write(items, &w) }]
        }
    }

    private mutating func envelope(
        _ event: MarketEvent, receivedAt: Int64, type: String, candle: Candle? = nil, data: (inout JSONWriter) -> Void
    ) -> EncodedEvent {
        let seq = (sequences[event.key] ?? 0) + 1
        sequences[event.key] = seq
        var w = JSONWriter()
        w.beginObject()
        w.key("stream")
        w.string(event.key.streamName(brand: brand))
        w.key("type")
        w.string(type)
        w.key("seq")
        w.uint(seq)
        w.key("data")
        data(&w)
        w.key("ts")
        w.int(event.exchangeTime)
        w.key("recvTs")
        w.int(receivedAt)
        w.key("source")
        w.string(brand)
        w.endObject()
        return EncodedEvent(key: event.key, seq: seq, json: w.bytes, candle: candle)
    }

    /// `{"price":…,"size":…}` (or `null`), as an object value or an array element alike.
    static func level(_ l: PriceLevel?, _ w: inout JSONWriter) {
        guard let l else { return w.null() }
        w.objectValue()
        w.key("price")
        w.string(l.price)
        w.key("size")
        w.string(l.size)
        w.endObject()
    }

    static func write(_ t: Ticker, _ w: inout JSONWriter) {
        w.objectValue()
        w.key("symbol")
        w.string(t.symbol)
        let fields: [(String, String?)] = [
            ("price", t.price), ("markPrice", t.markPrice), ("indexPrice", t.indexPrice), ("high24h", t.high24h),
            ("low24h", t.low24h), ("volume24h", t.volume24h), ("turnover24h", t.turnover24h),
            ("change24hPercent", t.change24hPercent),
        ]
        for (k, v) in fields {
            w.key(k)
            w.string(v)
        }
        w.key("bid")
        level(t.bid, &w)
        w.key("ask")
        level(t.ask, &w)
        w.key("fundingRate")
        w.string(t.fundingRate)
        w.key("nextFundingTime")
        w.int(t.nextFundingTime)
        w.key("openInterest")
        w.string(t.openInterest)
        w.endObject()
    }

    static func write(_ trades: [Trade], _ w: inout JSONWriter) {
        w.arrayValue()
        for t in trades {
            w.beginObject()
            w.key("id")
            w.string(t.id)
            w.key("price")
            w.string(t.price)
            w.key("size")
            w.string(t.size)
            w.key("side")
            w.string(t.side.rawValue)
            w.key("time")
            w.int(t.time)
            w.key("isBlockTrade")
            w.bool(t.isBlockTrade)
            w.endObject()
        }
        w.endArray()
    }

    /// One candle as the `data` object of a kline message (what candle history stores and serves).
    public static func json(_ c: Candle) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        write(c, &w)
        return w.bytes
    }

    static func write(_ c: Candle, _ w: inout JSONWriter) {
        w.objectValue()
        w.key("interval")
        w.string(c.interval.rawValue)
        w.key("start")
        w.int(c.start)
        w.key("end")
        w.int(c.end)
        for (k, v) in [
            ("open", c.open), ("high", c.high), ("low", c.low), ("close", c.close), ("volume", c.volume),
            ("turnover", c.turnover),
        ] {
            w.key(k)
            w.string(v)
        }
        w.key("closed")
        w.bool(c.closed)
        w.endObject()
    }

    static func write(_ b: Book, top: Bool, _ w: inout JSONWriter) {
        w.objectValue()
        if top {
            w.key("bid")
            level(b.bids.first, &w)
            w.key("ask")
            level(b.asks.first, &w)
        } else {
            for (name, levels) in [("bids", b.bids), ("asks", b.asks)] {
                w.key(name)
                w.arrayValue()
                for l in levels { level(l, &w) }
                w.endArray()
            }
        }
        w.key("updateId")
        w.int(b.updateId)
        w.endObject()
    }

    static func write(_ items: [Liquidation], _ w: inout JSONWriter) {
        w.arrayValue()
        for l in items {
            w.beginObject()
            w.key("side")
            w.string(l.side.rawValue)
            w.key("price")
            w.string(l.price)
            w.key("size")
            w.string(l.size)
            w.key("time")
            w.int(l.time)
            w.endObject()
        }
        w.endArray()
    }
}
