import TickplexModel

/// Generates Binance market-stream payloads (the raw event object; the connection wraps it for `/stream`).
public struct BinanceSimFeed: Sendable {
    /// USD-M serves each stream on one path since 2026; a stream on the other path (or on an unrouted URL, which
    /// gets only `/public` data) is accepted and then silent, as Binance does.
    public enum Route: String, Sendable {
        case `public`
        case market
    }

    public let usdm: Bool
    /// The connection's USD-M route (nil: an unrouted URL, or spot).
    public let route: Route?
    private var updateIds: [String: Int64] = [:]
    /// Per stream: Binance numbers trades per symbol, contiguously.
    private var tradeIds: [String: Int64] = [:]

    public init(usdm: Bool, route: Route? = nil) {
        self.usdm = usdm
        self.route = route
    }

    /// Where Binance USD-M serves a stream: book tickers, depth and raw trades on `/public`; aggregate trades, mark
    /// prices, klines, tickers and liquidations on `/market`.
    public static func usdmRoute(of stream: String) -> Route {
        guard let at = stream.firstIndex(of: "@") else { return .market }
        let rest = stream[stream.index(after: at)...]
        return rest.hasPrefix("bookTicker") || rest.hasPrefix("depth") || rest == "trade" ? .public : .market
    }

    /// Whether this connection's route delivers `stream`.
    public func delivers(_ stream: String) -> Bool {
        guard usdm else { return true }
        return Self.usdmRoute(of: stream) == (route ?? .public)
    }

    /// Stream names the simulator serves: `<symbol>@ticker|trade|aggTrade|bookTicker|kline_<i>|depth<N>[@100ms]|forceOrder`.
    public static func symbol(of stream: String) -> String? {
        guard let at = stream.firstIndex(of: "@") else { return nil }
        let symbol = stream[..<at]
        // Stream names carry lower-case letters, digits and `_` (delivery contracts); anything else is an invalid
        // stream.
        guard !symbol.isEmpty, symbol.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
        else { return nil }
        return symbol.uppercased()
    }

    public static func isValid(_ stream: String) -> Bool {
        guard let at = stream.firstIndex(of: "@"), symbol(of: stream) != nil else { return false }
        let rest = String(stream[stream.index(after: at)...])
        let simple = [
            "ticker", "miniTicker", "trade", "aggTrade", "bookTicker", "forceOrder", "depth", "depth@100ms",
            "markPrice",
            "markPrice@1s",
        ]
        if simple.contains(rest) { return true }
        if rest.hasPrefix("kline_") { return KlineInterval(rawValue: String(rest.dropFirst(6))) != nil }
        if rest.hasPrefix("depth") {
            let body = rest.dropFirst(5)
            let digits = body.prefix { $0.isNumber }
            let suffix = body.dropFirst(digits.count)
            return ["5", "10", "20"].contains(String(digits))
                && (suffix.isEmpty || suffix == "@100ms" || suffix == "@500ms")
        }
        return false
    }

    public mutating func payload(for stream: String, market: inout SimMarket, now: Int64) -> String? {
        guard let symbol = Self.symbol(of: stream), let i = market.step(symbol),
            let at = stream.firstIndex(of: "@")
        else { return nil }
        let rest = String(stream[stream.index(after: at)...])
        let s = i.symbol
        switch rest {
        case "ticker" where usdm:
            // USD-M's 24-hour ticker carries no best bid/ask (those come on @bookTicker) and no mark price.
            return
                #"{"e":"24hrTicker","E":\#(now),"s":"\#(s)","p":"\#(SimMarket.format(i.ticks - i.openTicks, decimals: i.decimals))","P":"0.150","w":"\#(i.price())","c":"\#(i.price())","Q":"0.010","o":"\#(i.open)","h":"\#(i.high)","l":"\#(i.low)","v":"\#(i.volume)","q":"\#(i.turnover)","O":\#(now - 86_400_000),"C":\#(now),"F":1,"L":\#(i.tradeSeq),"n":\#(i.tradeSeq)}"#
        case "markPrice", "markPrice@1s":
            guard usdm else { return nil }
            let nextFunding = now - now % 28_800_000 + 28_800_000
            return
                #"{"e":"markPriceUpdate","E":\#(now),"s":"\#(s)","p":"\#(i.price(1))","P":"\#(i.price())","i":"\#(i.price(-1))","r":"0.00010000","T":\#(nextFunding)}"#
        case "ticker":
            return
                #"{"e":"24hrTicker","E":\#(now),"s":"\#(s)","p":"\#(SimMarket.format(i.ticks - i.openTicks, decimals: i.decimals))","P":"0.150","w":"\#(i.price())","x":"\#(i.open)","c":"\#(i.price())","Q":"0.010","b":"\#(i.price(-1))","B":"1.000","a":"\#(i.price())","A":"2.000","o":"\#(i.open)","h":"\#(i.high)","l":"\#(i.low)","v":"\#(i.volume)","q":"\#(i.turnover)","O":\#(now - 86_400_000),"C":\#(now),"F":1,"L":\#(i.tradeSeq),"n":\#(i.tradeSeq)}"#
        case "miniTicker":
            return
                #"{"e":"24hrMiniTicker","E":\#(now),"s":"\#(s)","c":"\#(i.price())","o":"\#(i.open)","h":"\#(i.high)","l":"\#(i.low)","v":"\#(i.volume)","q":"\#(i.turnover)"}"#
        case "trade", "aggTrade":
            let tradeId = (tradeIds[stream] ?? 12_345) + 1
            tradeIds[stream] = tradeId
            let idField = rest == "trade" ? "t" : "a"
            return
                #"{"e":"\#(rest)","E":\#(now),"s":"\#(s)","\#(idField)":\#(tradeId),"p":"\#(i.price())","q":"0.0\#(market.random(90) + 10)","T":\#(now),"m":\#(market.random(2) == 0)\#(usdm ? "" : #","M":true"#)}"#
        case "bookTicker":
            let u = nextUpdateId(stream)
            if usdm {
                return
                    #"{"e":"bookTicker","u":\#(u),"s":"\#(s)","b":"\#(i.price(-1))","B":"1.5","a":"\#(i.price())","A":"2.5","T":\#(now),"E":\#(now)}"#
            }
            return
                #"{"u":\#(u),"s":"\#(s)","b":"\#(i.price(-1))","B":"1.50000000","a":"\#(i.price())","A":"2.50000000"}"#
        case "forceOrder":
            return
                #"{"e":"forceOrder","E":\#(now),"o":{"s":"\#(s)","S":"\#(market.random(2) == 0 ? "SELL" : "BUY")","o":"LIMIT","f":"IOC","q":"1","p":"\#(i.price(-5))","ap":"\#(i.price(-4))","X":"FILLED","l":"1","z":"1","T":\#(now)}}"#
        default:
            if rest.hasPrefix("kline_"), let interval = KlineInterval(rawValue: String(rest.dropFirst(6))) {
                let start = now - now % interval.milliseconds
                return
                    #"{"e":"kline","E":\#(now),"s":"\#(s)","k":{"t":\#(start),"T":\#(start + interval.milliseconds - 1),"s":"\#(s)","i":"\#(interval.rawValue)","f":1,"L":2,"o":"\#(i.open)","c":"\#(i.price())","h":"\#(i.high)","l":"\#(i.low)","v":"\#(i.volume)","n":2,"x":false,"q":"\#(i.turnover)","V":"0","Q":"0","B":"0"}}"#
            }
            if rest.hasPrefix("depth") {
                let levels = Int(rest.dropFirst(5).prefix { $0.isNumber }) ?? 0
                let u = nextUpdateId(stream)
                let n = max(levels, 1)
                let bids = (0..<n).map { #"["\#(i.price(-1 - Int64($0)))","1.0"]"# }.joined(separator: ",")
                let asks = (0..<n).map { #"["\#(i.price(Int64($0)))","1.0"]"# }.joined(separator: ",")
                if levels == 0 || usdm {
                    return
                        #"{"e":"depthUpdate","E":\#(now),"T":\#(now),"s":"\#(s)","U":\#(u),"u":\#(u),"pu":\#(u - 1),"b":[\#(bids)],"a":[\#(asks)]}"#
                }
                return #"{"lastUpdateId":\#(u),"bids":[\#(bids)],"asks":[\#(asks)]}"#
            }
            return nil
        }
    }

    private mutating func nextUpdateId(_ stream: String) -> Int64 {
        let next = (updateIds[stream] ?? 400_900_000) + 1
        updateIds[stream] = next
        return next
    }
}
