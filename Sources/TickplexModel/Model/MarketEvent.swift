/// A price level: both strings exactly as the exchange sent them.
public struct PriceLevel: Sendable, Equatable, Hashable {
    public var price: String
    public var size: String

    public init(price: String, size: String) {
        self.price = price
        self.size = size
    }
}

/// The full merged ticker of one symbol. `nil` means the venue does not send that field (never `"0"`).
public struct Ticker: Sendable, Equatable {
    public var symbol: String
    public var price: String?
    public var markPrice: String?
    public var indexPrice: String?
    public var high24h: String?
    public var low24h: String?
    public var volume24h: String?
    public var turnover24h: String?
    /// Percent (Bybit's `price24hPcnt` ratio × 100, exact decimal shift; Binance's `P` as is).
    public var change24hPercent: String?
    public var bid: PriceLevel?
    public var ask: PriceLevel?
    public var fundingRate: String?
    /// Milliseconds since the epoch.
    public var nextFundingTime: Int64?
    public var openInterest: String?

    public init(symbol: String) {
        self.symbol = symbol
    }
}

public struct Trade: Sendable, Equatable {
    public enum Side: String, Sendable { case buy, sell }
    public var id: String
    public var price: String
    public var size: String
    /// The taker's side.
    public var side: Side
    public var time: Int64
    public var isBlockTrade: Bool

    public init(id: String, price: String, size: String, side: Side, time: Int64, isBlockTrade: Bool) {
        self.id = id
        self.price = price
        self.size = size
        self.side = side
        self.time = time
        self.isBlockTrade = isBlockTrade
    }
}

public struct Candle: Sendable, Equatable {
    public var interval: KlineInterval
    public var start: Int64
    public var end: Int64
    public var open: String
    public var high: String
    public var low: String
    public var close: String
    public var volume: String
    public var turnover: String
    public var closed: Bool

    public init(
        interval: KlineInterval, start: Int64, end: Int64, open: String, high: String, low: String, close: String,
        volume: String, turnover: String, closed: Bool
    ) {
        self.interval = interval
        self.start = start
        self.end = end
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.turnover = turnover
        self.closed = closed
    }
}

/// Top of book, or the top N levels of a locally maintained book.
public struct Book: Sendable, Equatable {
    public var bids: [PriceLevel]
    public var asks: [PriceLevel]
    public var updateId: Int64

    public init(bids: [PriceLevel], asks: [PriceLevel], updateId: Int64) {
        self.bids = bids
        self.asks = asks
        self.updateId = updateId
    }
}

public struct Liquidation: Sendable, Equatable {
    /// Side of the liquidated position: `buy` = a long was liquidated (Bybit's convention; Binance's order side
    /// is mapped to it).
    public var side: Trade.Side
    public var price: String
    public var size: String
    public var time: Int64

    public init(side: Trade.Side, price: String, size: String, time: Int64) {
        self.side = side
        self.price = price
        self.size = size
        self.time = time
    }
}

/// A normalized event of one stream, ready for the transformer.
public struct MarketEvent: Sendable, Equatable {
    public enum Payload: Sendable, Equatable {
        case ticker(Ticker)
        case trades([Trade])
        /// One or two candles (the closed one, then the new one), in order.
        case klines([Candle])
        case book(Book)
        case liquidations([Liquidation])
    }

    public var key: StreamKey
    /// The exchange's time (ms).
    public var exchangeTime: Int64
    public var payload: Payload
    /// When the frame that carried it arrived (ms; 0 when unknown): the message's `recvTs`.
    public var receivedAt: Int64 = 0

    public init(key: StreamKey, exchangeTime: Int64, payload: Payload) {
        self.key = key
        self.exchangeTime = exchangeTime
        self.payload = payload
    }
}
