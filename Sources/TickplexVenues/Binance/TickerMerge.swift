public import TickplexModel

/// Binance USD-M sends one ticker's fields on three streams that ride different routes, hence different
/// connections: `@ticker` (last price and 24-hour figures), `@markPrice@1s` (mark, index, funding) and
/// `@bookTicker` (best bid and ask). Each part overlays the fields it carries on the symbol's merged ticker.
/// Book-ticker parts change far more often than the rest: they produce a ticker event at most every 100 ms of
/// exchange time (their values still enter the merge). Pure: the caller owns one per venue.
public struct TickerMerge: Sendable {
    private var tickers: [String: Ticker] = [:]
    private var bookOnlyEmittedAt: [String: Int64] = [:]
    public static let bookOnlyIntervalMs: Int64 = 100

    public init() {}

    /// The merged ticker after `part`, or nil when the part only moved the best bid/ask within the interval.
    public mutating func apply(_ part: Ticker, exchangeTime: Int64) -> Ticker? {
        var t = tickers[part.symbol] ?? Ticker(symbol: part.symbol)
        t.price = part.price ?? t.price
        t.markPrice = part.markPrice ?? t.markPrice
        t.indexPrice = part.indexPrice ?? t.indexPrice
        t.high24h = part.high24h ?? t.high24h
        t.low24h = part.low24h ?? t.low24h
        t.volume24h = part.volume24h ?? t.volume24h
        t.turnover24h = part.turnover24h ?? t.turnover24h
        t.change24hPercent = part.change24hPercent ?? t.change24hPercent
        t.bid = part.bid ?? t.bid
        t.ask = part.ask ?? t.ask
        t.fundingRate = part.fundingRate ?? t.fundingRate
        t.nextFundingTime = part.nextFundingTime ?? t.nextFundingTime
        t.openInterest = part.openInterest ?? t.openInterest
        tickers[part.symbol] = t
        let bookOnly = part.price == nil && part.markPrice == nil && (part.bid != nil || part.ask != nil)
        guard bookOnly else { return t }
        if let last = bookOnlyEmittedAt[part.symbol], exchangeTime - last < Self.bookOnlyIntervalMs,
            exchangeTime >= last
        {
            return nil
        }
        bookOnlyEmittedAt[part.symbol] = exchangeTime
        return t
    }

    /// Nobody follows the symbol's ticker any more.
    public mutating func forget(_ symbol: String) {
        tickers[symbol] = nil
        bookOnlyEmittedAt[symbol] = nil
    }
}
