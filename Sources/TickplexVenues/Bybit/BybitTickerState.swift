import TickplexModel

/// The merged state of one Bybit ticker topic, kept as the raw field texts that the normalized ticker needs.
///
/// Applying a snapshot to a fresh state or a delta to the current one is the same operation: every key present
/// overwrites its field, every absent key leaves it alone, `""` is a value. Keys the proxy does not map are
/// skipped, which keeps the per-frame cost to one switch per key instead of a dictionary of every field.
struct BybitTickerState: Sendable, Equatable {
    var symbol = ""
    var lastPrice: String?
    var markPrice: String?
    var indexPrice: String?
    var highPrice24h: String?
    var lowPrice24h: String?
    var volume24h: String?
    var turnover24h: String?
    /// Already converted to percent when it arrives: deltas that do not touch it cost nothing.
    var change24hPercent: String?
    var bidPrice: String?
    var bidSize: String?
    var askPrice: String?
    var askSize: String?
    var fundingRate: String?
    var nextFundingTime: Int64?
    var openInterest: String?

    mutating func apply(_ pairs: [(key: String, value: JSONValue)]) {
        for (key, value) in pairs {
            let text = value.text
            switch key {
            case "symbol": symbol = text ?? symbol
            case "lastPrice": lastPrice = text
            case "markPrice": markPrice = text
            case "indexPrice": indexPrice = text
            case "highPrice24h": highPrice24h = text
            case "lowPrice24h": lowPrice24h = text
            case "volume24h": volume24h = text
            case "turnover24h": turnover24h = text
            case "price24hPcnt": change24hPercent = text.map { DecimalText.movePoint($0, by: 2) }
            // Linear/inverse name the top of book bid1Price…; options bidPrice…
            case "bid1Price", "bidPrice": bidPrice = text
            case "bid1Size", "bidSize": bidSize = text
            case "ask1Price", "askPrice": askPrice = text
            case "ask1Size", "askSize": askSize = text
            case "fundingRate": fundingRate = text
            case "nextFundingTime": nextFundingTime = value.int64
            case "openInterest": openInterest = text
            default: continue
            }
        }
    }

    var ticker: Ticker {
        var t = Ticker(symbol: symbol)
        t.price = lastPrice
        t.markPrice = markPrice
        t.indexPrice = indexPrice
        t.high24h = highPrice24h
        t.low24h = lowPrice24h
        t.volume24h = volume24h
        t.turnover24h = turnover24h
        t.change24hPercent = change24hPercent
        if let bidPrice, let bidSize { t.bid = PriceLevel(price: bidPrice, size: bidSize) }
        if let askPrice, let askSize { t.ask = PriceLevel(price: askPrice, size: askSize) }
        t.fundingRate = fundingRate
        t.nextFundingTime = nextFundingTime
        t.openInterest = openInterest
        return t
    }
}
