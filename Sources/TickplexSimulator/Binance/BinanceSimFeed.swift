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
            if rest == "depth" || rest == "depth@100ms" || rest == "depth@500ms" {
                return diff(symbol: s, price: i.ticks, decimals: i.decimals, market: &market, now: now)
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

    // MARK: - Diff books (one per symbol, as the exchange keeps it)

    /// A symbol's whole book: price in ticks → size text; the update id of the last change.
    struct DiffBook {
        var bids: [Int64: String] = [:]
        var asks: [Int64: String] = [:]
        var lastUpdateId: Int64 = 8_000_000
    }
    private var diffBooks: [String: DiffBook] = [:]
    /// The next diff is lost: applied to the book, never sent (a gap, for tests of resynchronisation).
    public var skipNextUpdateId = false

    private mutating func book(_ symbol: String, price: Int64, market: inout SimMarket) -> DiffBook {
        if let b = diffBooks[symbol] { return b }
        var b = DiffBook()
        // 1,500 levels a side: deeper than any snapshot asked for.
        for k in 0..<1_500 {
            b.bids[price - 1 - Int64(k)] = "\(market.random(900) + 1).0\(market.random(10))"
            b.asks[price + Int64(k)] = "\(market.random(900) + 1).0\(market.random(10))"
        }
        diffBooks[symbol] = b
        return b
    }

    /// A `depthUpdate`: a few levels near the price change (one may go to zero, one appears), `U..u` after the
    /// previous `u` (`pu`); after `skipNextUpdateId` one diff is applied to the book but never sent (a gap).
    private mutating func diff(symbol: String, price: Int64, decimals: Int, market: inout SimMarket, now: Int64)
        -> String
    {
        if skipNextUpdateId {
            // A lost diff: the book changes, nobody hears of it; the next one shows the gap (U, and pu on USD-M).
            skipNextUpdateId = false
            _ = diff(symbol: symbol, price: price, decimals: decimals, market: &market, now: now)
        }
        var b = book(symbol, price: price, market: &market)
        let first = b.lastUpdateId + 1
        let count = Int64(market.random(3) + 1)
        var bids: [(Int64, String)] = []
        var asks: [(Int64, String)] = []
        for _ in 0..<count {
            let depth = Int64(market.random(40))
            let size = market.random(4) == 0 ? "0" : "\(market.random(900) + 1).\(market.random(100))"
            if market.random(2) == 0 {
                let level = price - 1 - depth
                bids.append((level, size))
                if size == "0" { b.bids[level] = nil } else { b.bids[level] = size }
            } else {
                let level = price + depth
                asks.append((level, size))
                if size == "0" { b.asks[level] = nil } else { b.asks[level] = size }
            }
        }
        let previous = b.lastUpdateId
        b.lastUpdateId = first + count - 1
        diffBooks[symbol] = b
        func rows(_ levels: [(Int64, String)]) -> String {
            levels.map { #"["\#(SimMarket.format($0.0, decimals: decimals))","\#($0.1)"]"# }.joined(separator: ",")
        }
        let pu = usdm ? #","pu":\#(previous)"# : ""
        return
            #"{"e":"depthUpdate","E":\#(now),"T":\#(now),"s":"\#(symbol)","U":\#(first),"u":\#(b.lastUpdateId)\#(pu),"b":[\#(rows(bids))],"a":[\#(rows(asks))]}"#
    }

    /// The REST depth snapshot of a symbol's book (`/api/v3/depth`, `/fapi/v1/depth`): the best `limit` levels.
    public mutating func depthSnapshot(
        symbol: String, limit: Int, market: inout SimMarket, now: Int64
    ) -> String? {
        guard let i = market.instruments[symbol] else { return nil }
        let b = book(symbol, price: i.ticks, market: &market)
        func rows(_ side: [Int64: String], descending: Bool) -> String {
            let keys = side.keys.sorted(by: descending ? (>) : (<)).prefix(limit)
            return keys.map { #"["\#(SimMarket.format($0, decimals: i.decimals))","\#(side[$0]!)"]"# }.joined(
                separator: ",")
        }
        let times = usdm ? #""E":\#(now),"T":\#(now),"# : ""
        return
            #"{"lastUpdateId":\#(b.lastUpdateId),\#(times)"bids":[\#(rows(b.bids, descending: true))],"asks":[\#(rows(b.asks, descending: false))]}"#
    }

    /// The whole book as the exchange has it now (for tests comparing a proxy's book with the truth).
    public func bookLevels(symbol: String, decimals: Int) -> (
        lastUpdateId: Int64, bids: [(String, String)], asks: [(String, String)]
    )? {
        guard let b = diffBooks[symbol] else { return nil }
        let bids = b.bids.keys.sorted(by: >).map { (SimMarket.format($0, decimals: decimals), b.bids[$0]!) }
        let asks = b.asks.keys.sorted().map { (SimMarket.format($0, decimals: decimals), b.asks[$0]!) }
        return (b.lastUpdateId, bids, asks)
    }

    private mutating func nextUpdateId(_ stream: String) -> Int64 {
        let next = (updateIds[stream] ?? 400_900_000) + 1
        updateIds[stream] = next
        return next
    }
}
