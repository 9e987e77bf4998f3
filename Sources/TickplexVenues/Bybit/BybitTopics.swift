public import TickplexModel

/// StreamKey ↔ Bybit V5 topic names.
public enum BybitTopics {
    /// Bybit order-book depths; a requested depth uses the smallest one that covers it.
    public static let bookDepths = [1, 50, 200, 1000]

    /// The topic for a stream, or why Bybit cannot serve it.
    public static func topic(for key: StreamKey) -> Result<String, VenueRejection> {
        let s = key.symbol
        switch key.kind {
        case .ticker:
            return .success("tickers.\(s)")
        case .trade:
            return .success("publicTrade.\(s)")
        case .kline:
            guard let interval = key.interval else { return .failure(.init("a kline stream needs an interval")) }
            return .success("kline.\(interval.bybitName).\(s)")
        case .book:
            let depth = key.depth ?? 1
            guard let venueDepth = bookDepths.first(where: { $0 >= depth }) else {
                return .failure(.init("Bybit books have at most 1000 levels; ask for book:1000 or fewer"))
            }
            return .success("orderbook.\(venueDepth).\(s)")
        case .liquidation:
            guard key.venue != .bybitSpot else {
                return .failure(.init("Bybit publishes liquidations for linear and inverse contracts only, not spot"))
            }
            return .success("allLiquidation.\(s)")
        }
    }

    /// What a topic carries: its kind, symbol, interval and the book depth of the topic itself.
    public struct Parsed: Sendable, Equatable {
        public var kind: StreamKind
        public var symbol: String
        public var interval: KlineInterval?
        public var bookDepth: Int?
        /// The legacy `liquidation.*` topic (object payload) rather than `allLiquidation.*`.
        public var legacyLiquidation = false
    }

    public static func parse(topic: String) -> Parsed? {
        let parts = topic.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count >= 2 else { return nil }
        switch parts[0] {
        case "tickers" where parts.count == 2:
            return Parsed(kind: .ticker, symbol: parts[1])
        case "publicTrade" where parts.count == 2:
            return Parsed(kind: .trade, symbol: parts[1])
        case "kline" where parts.count == 3:
            guard let interval = KlineInterval(bybitName: parts[1]) else { return nil }
            return Parsed(kind: .kline, symbol: parts[2], interval: interval)
        case "orderbook" where parts.count == 3:
            guard let depth = Int(parts[1]) else { return nil }
            return Parsed(kind: .book, symbol: parts[2], bookDepth: depth)
        case "allLiquidation" where parts.count == 2:
            return Parsed(kind: .liquidation, symbol: parts[1])
        case "liquidation" where parts.count == 2:
            return Parsed(kind: .liquidation, symbol: parts[1], legacyLiquidation: true)
        default:
            return nil
        }
    }
}

/// Why a venue cannot serve a stream, in words a client can act on.
public struct VenueRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
