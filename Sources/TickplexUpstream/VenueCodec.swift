public import TickplexModel
public import TickplexVenues

/// The venue-specific half of an upstream connection: topic names, request framing, decoding, heartbeat.
public struct VenueCodec: Sendable {
    enum Kind: Sendable {
        case bybit(BybitAdapter)
        case binance(BinanceAdapter)
    }

    var kind: Kind
    public let venue: Venue

    public init(venue: Venue) {
        self.venue = venue
        switch venue {
        case .bybitSpot: kind = .bybit(BybitAdapter(category: .spot))
        case .bybitLinear: kind = .bybit(BybitAdapter(category: .linear))
        case .bybitInverse: kind = .bybit(BybitAdapter(category: .inverse))
        case .binanceSpot: kind = .binance(BinanceAdapter(market: .spot))
        case .binanceUSDM: kind = .binance(BinanceAdapter(market: .usdm))
        }
    }

    public func topic(for key: StreamKey) -> Result<String, VenueRejection> {
        switch kind {
        case .bybit: BybitTopics.topic(for: key)
        case .binance(let a): a.topic(for: key)
        }
    }

    /// Every upstream topic a key needs (a Binance USD-M ticker merges three); the first is `topic(for:)`.
    public func topics(for key: StreamKey) -> Result<[String], VenueRejection> {
        switch kind {
        case .bybit: BybitTopics.topic(for: key).map { [$0] }
        case .binance(let a): a.topics(for: key)
        }
    }

    /// Binance USD-M routes by path; every other venue uses one path.
    public func route(for topic: String) -> String {
        if case .binance(let a) = kind { return a.route(for: topic) }
        return ""
    }

    /// Streams one connection may carry.
    public var maxTopicsPerConnection: Int {
        switch kind {
        case .bybit: 400  // keeps the args of a connection well under Bybit's 21,000 characters
        case .binance: BinanceAdapter.maxStreamsPerConnection
        }
    }

    /// Frames a connection may send per 1.5 s: Binance allows 5 inbound messages per second, counted on arrival,
    /// pings and pongs included. Every frame we send (requests, our pings, the pongs that answer Binance's pings)
    /// passes this one limit; 4 per 1.5 s keeps any one-second window at 4 even when up to 250 ms of delivery
    /// jitter bunches frames together on the exchange's side.
    public var maxRequestsPerWindow: (count: Int, windowMs: Int64)? {
        if case .binance = kind { return (BinanceAdapter.maxMessagesPerSecond - 1, 1500) }
        return nil
    }

    /// Bybit wants an application ping (`{"op":"ping"}`); Binance pings us.
    public var pingFrame: String? {
        if case .bybit = kind { return BybitAdapter.pingFrame }
        return nil
    }

    public func requests(subscribe: Bool, topics: [String], firstRequestId: Int) -> [(
        frame: String, requestId: String, topics: [String]
    )] {
        switch kind {
        case .bybit(let a):
            a.requests(op: subscribe ? "subscribe" : "unsubscribe", topics: topics, firstRequestId: firstRequestId)
        case .binance(let a):
            a.requests(method: subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", topics: topics, firstRequestId: firstRequestId)
        }
    }

    public mutating func decode(_ text: String, receivedAt: Int64) throws(VenueDecodeError) -> [VenueMessage] {
        switch kind {
        case .bybit(var a):
            defer { kind = .bybit(a) }
            return try a.decode(text, receivedAt: receivedAt)
        case .binance(var a):
            defer { kind = .binance(a) }
            return try a.decode(text, receivedAt: receivedAt)
        }
    }

    /// Binance: a REST depth snapshot for a diff-depth stream.
    public mutating func applyDepthSnapshot(_ snapshot: DepthSnapshot, stream: String, receivedAt: Int64)
        throws(VenueDecodeError) -> [VenueMessage]
    {
        guard case .binance(var a) = kind else { return [] }
        defer { kind = .binance(a) }
        return try a.applyDepthSnapshot(
            stream: stream, symbol: snapshot.symbol, lastUpdateId: snapshot.lastUpdateId, bids: snapshot.bids,
            asks: snapshot.asks, receivedAt: receivedAt)
    }
}
