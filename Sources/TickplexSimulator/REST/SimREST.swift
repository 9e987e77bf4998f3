public import TickplexModel
import TickplexVenues

/// The exchanges' public REST endpoints that Tickplex reads, as the simulator serves them on its own port: the
/// instrument catalogue (Bybit `instruments-info` per category with cursor pages, Binance `exchangeInfo` for spot
/// and USD-M), in the exchanges' shapes and with their limits — Binance's request weight per minute per host
/// (`X-MBX-USED-WEIGHT-1M`, 429 with `Retry-After`, then a 418 ban for a client that keeps going) and Bybit's
/// requests per 5 s per IP (403 past it). Pure: the time is passed in; the connection handler writes the answer.
public struct SimREST: Sendable {
    public struct Limits: Sendable {
        /// Binance request weight per minute, per host (spot and USD-M count separately).
        public var binanceWeightPerMinute = 6000
        /// Requests made during a 429 before the IP is banned (418).
        public var binanceRequestsDuring429BeforeBan = 3
        /// Bybit requests per 5 s per IP.
        public var bybitRequestsPer5s = 600
        public init() {}
    }

    public struct Response: Sendable, Equatable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: String
        public static func == (a: Response, b: Response) -> Bool {
            a.status == b.status && a.body == b.body
                && a.headers.map { "\($0.0):\($0.1)" } == b.headers.map { "\($0.0):\($0.1)" }
        }
    }

    /// What the simulated exchange saw (for tests: that the proxy never got a 418).
    public struct Counters: Sendable, Codable, Equatable {
        public var requests = 0
        public var tooManyRequests = 0
        public var banned = 0
        public var weightByHost: [String: Int] = [:]
        /// Requests by path (`/v5/market/kline`, `/api/v3/depth`, …).
        public var byPath: [String: Int] = [:]
    }

    public var limits: Limits
    /// Listed symbols per venue, with their status ("Trading"/"TRADING" or another).
    public private(set) var listed: [Venue: [String: String]] = [:]
    public private(set) var counters = Counters()
    private var weightWindow: [String: (minute: Int64, used: Int)] = [:]
    private var retryUntil: [String: Int64] = [:]
    private var requestsDuring429: [String: Int] = [:]
    private var bannedUntil: [String: Int64] = [:]
    private var bybitWindow: [Int64] = []
    private var bybitBlockedUntil: Int64 = 0

    /// Starting prices, for the synthetic candle history.
    private var basePrices: [String: String] = [:]

    public init(symbols: Set<String>, limits: Limits = .init(), prices: [String: String] = [:]) {
        self.limits = limits
        self.basePrices = prices
        let plain = symbols.filter { $0.allSatisfy { $0.isLetter || $0.isNumber } }
        for venue in [Venue.bybitSpot, .bybitInverse, .binanceSpot] {
            listed[venue] = Dictionary(uniqueKeysWithValues: plain.map { ($0, Self.trading(venue)) })
        }
        listed[.bybitLinear] = Dictionary(
            uniqueKeysWithValues: symbols.filter { !$0.contains("_") }.map { ($0, Self.trading(.bybitLinear)) })
        listed[.binanceUSDM] = Dictionary(
            uniqueKeysWithValues: symbols.filter { !$0.contains("-") }.map { ($0, Self.trading(.binanceUSDM)) })
    }

    static func trading(_ venue: Venue) -> String {
        switch venue {
        case .binanceSpot, .binanceUSDM: "TRADING"
        default: "Trading"
        }
    }

    /// A listing change (`/sim/list`): a new symbol, or a status such as "Closed"/"BREAK".
    public mutating func list(_ symbol: String, on venue: Venue, status: String? = nil) {
        listed[venue, default: [:]][symbol] = status ?? Self.trading(venue)
    }

    /// Answers one GET; nil when the path is not a REST endpoint of the simulator.
    public mutating func handle(
        path: String, query: [String: String], now: Int64, depthBody: String? = nil
    ) -> Response? {
        let me = self  // the bodies read a copy while the limits are updated
        counters.byPath[path, default: 0] += 1
        switch path {
        case "/api/v3/depth", "/fapi/v1/depth":
            let usdm = path.hasPrefix("/fapi")
            let limit = Int(query["limit"] ?? "") ?? 100
            // Weight by limit, as each venue documents it.
            let weight = BinanceAdapter.depthWeight(limit: limit, usdm: usdm)
            return binance(host: usdm ? "usdm" : "spot", weight: weight, now: now) {
                guard let body = depthBody else { return (400, #"{"code":-1121,"msg":"Invalid symbol."}"#) }
                return (200, body)
            }
        case "/v5/market/instruments-info":
            return bybit(now: now) { me.instruments(query: query, now: now) }
        case "/api/v3/exchangeInfo":
            return binance(host: "spot", weight: 20, now: now) { me.exchangeInfo(.binanceSpot, now: now) }
        case "/fapi/v1/exchangeInfo":
            return binance(host: "usdm", weight: 1, now: now) { me.exchangeInfo(.binanceUSDM, now: now) }
        case "/v5/market/kline":
            return bybit(now: now) { me.bybitKlines(query: query, now: now) }
        case "/api/v3/klines", "/fapi/v1/klines":
            let usdm = path.hasPrefix("/fapi")
            let limit = Int(query["limit"] ?? "") ?? 500
            let weight = BinanceAdapter.klinesWeight(limit: limit, usdm: usdm)
            return binance(host: usdm ? "usdm" : "spot", weight: weight, now: now) {
                me.binanceKlines(usdm ? .binanceUSDM : .binanceSpot, query: query, now: now)
            }
        case "/api/v3/ping", "/fapi/v1/ping":
            return binance(host: path.hasPrefix("/api") ? "spot" : "usdm", weight: 1, now: now) { (200, "{}") }
        case "/api/v3/time", "/fapi/v1/time":
            return binance(host: path.hasPrefix("/api") ? "spot" : "usdm", weight: 1, now: now) {
                (200, #"{"serverTime":\#(now)}"#)
            }
        case "/v5/market/time":
            return bybit(now: now) {
                (
                    200,
                    #"{"retCode":0,"retMsg":"OK","result":{"timeSecond":"\#(now / 1000)","timeNano":"\#(now)000000"},"retExtInfo":{},"time":\#(now)}"#
                )
            }
        default:
            return nil
        }
    }

    // MARK: - Limits

    private mutating func binance(host: String, weight: Int, now: Int64, answer: () -> (Int, String)) -> Response {
        counters.requests += 1
        let minute = now / 60_000
        if let until = retryUntil[host], now < until,
            requestsDuring429[host, default: 0] + 1 >= limits.binanceRequestsDuring429BeforeBan
        {
            // A client that does not back off from a 429 is banned (418).
            bannedUntil[host] = now + 120_000
            retryUntil[host] = nil
        }
        if let until = bannedUntil[host], now < until {
            counters.banned += 1
            return Response(
                status: 418, headers: [("Retry-After", "\((until - now + 999) / 1000)")],
                body:
                    #"{"code":-1003,"msg":"Way too much request weight used; IP banned until \#(until). Please use WebSocket Streams for live updates to avoid bans."}"#
            )
        }
        if let until = retryUntil[host], now < until {
            // Still inside the 429: counted towards the ban.
            requestsDuring429[host, default: 0] += 1
            counters.tooManyRequests += 1
            return tooMuch(host: host, until: until, now: now)
        }
        var window = weightWindow[host] ?? (minute, 0)
        if window.minute != minute { window = (minute, 0) }
        window.used += weight
        weightWindow[host] = window
        counters.weightByHost[host, default: 0] += weight
        let used = ("X-MBX-USED-WEIGHT-1M", "\(window.used)")
        if window.used > limits.binanceWeightPerMinute {
            let until = (minute + 1) * 60_000
            retryUntil[host] = until
            requestsDuring429[host] = 0
            counters.tooManyRequests += 1
            var r = tooMuch(host: host, until: until, now: now)
            r.headers.append(used)
            return r
        }
        let (status, body) = answer()
        return Response(status: status, headers: [used, ("Content-Type", "application/json")], body: body)
    }

    private func tooMuch(host: String, until: Int64, now: Int64) -> Response {
        Response(
            status: 429, headers: [("Retry-After", "\(max(1, (until - now + 999) / 1000))")],
            body:
                #"{"code":-1003,"msg":"Too much request weight used; current limit is \#(limits.binanceWeightPerMinute) request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."}"#
        )
    }

    private mutating func bybit(now: Int64, answer: () -> (Int, String)) -> Response {
        counters.requests += 1
        if now < bybitBlockedUntil {
            counters.banned += 1
            return Response(status: 403, headers: [], body: "access too frequent")
        }
        bybitWindow.removeAll { $0 <= now - 5_000 }
        bybitWindow.append(now)
        if bybitWindow.count > limits.bybitRequestsPer5s {
            bybitBlockedUntil = now + 600_000
            counters.banned += 1
            return Response(status: 403, headers: [], body: "access too frequent")
        }
        let (status, body) = answer()
        return Response(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    // MARK: - Bodies

    private func instruments(query: [String: String], now: Int64) -> (Int, String) {
        let category = query["category"] ?? ""
        let venue: Venue
        switch category {
        case "spot": venue = .bybitSpot
        case "linear": venue = .bybitLinear
        case "inverse": venue = .bybitInverse
        default:
            return (
                200,
                #"{"retCode":10001,"retMsg":"params error: category invalid","result":{},"retExtInfo":{},"time":\#(now)}"#
            )
        }
        // Only Trading by default, as Bybit answers; `status=` asks for another.
        let wantedStatus = query["status"] ?? "Trading"
        var symbols = (listed[venue] ?? [:]).filter { $0.value == wantedStatus }.keys.sorted()
        if let one = query["symbol"] { symbols = symbols.filter { $0 == one } }
        let item: (String) -> String = { s in
            let quote = s.hasSuffix("USDT") ? "USDT" : "USD"
            let base = s.hasSuffix("USDT") ? String(s.dropLast(4)) : String(s.prefix(3))
            if venue == .bybitSpot {
                return
                    #"{"symbol":"\#(s)","baseCoin":"\#(base)","quoteCoin":"\#(quote)","innovation":"0","status":"\#(wantedStatus)","marginTrading":"utaOnly","stTag":"0","lotSizeFilter":{"basePrecision":"0.000001","quotePrecision":"0.0000001","minOrderQty":"0.000011","maxOrderQty":"83","minOrderAmt":"5","maxOrderAmt":"8000000"},"priceFilter":{"tickSize":"0.01"}}"#
            }
            return
                #"{"symbol":"\#(s)","contractType":"\#(s.contains("-") ? "LinearFutures" : venue == .bybitInverse ? "InversePerpetual" : "LinearPerpetual")","status":"\#(wantedStatus)","baseCoin":"\#(base)","quoteCoin":"\#(quote)","launchTime":"1585526400000","deliveryTime":"0","deliveryFeeRate":"","priceScale":"2","leverageFilter":{"minLeverage":"1","maxLeverage":"100.00","leverageStep":"0.01"},"priceFilter":{"minPrice":"0.10","maxPrice":"1999999.80","tickSize":"0.10"},"lotSizeFilter":{"maxOrderQty":"1190.000","minOrderQty":"0.001","qtyStep":"0.001","postOnlyMaxOrderQty":"1190.000","maxMktOrderQty":"119.000","minNotionalValue":"5"},"unifiedMarginTrade":true,"fundingInterval":480,"settleCoin":"\#(quote)","copyTrading":"both","upperFundingRate":"0.005","lowerFundingRate":"-0.005"}"#
        }
        if venue == .bybitSpot {
            // Spot has no pages: every symbol in one answer, no nextPageCursor.
            let list = symbols.map(item).joined(separator: ",")
            return (
                200,
                #"{"retCode":0,"retMsg":"OK","result":{"category":"spot","list":[\#(list)]},"retExtInfo":{},"time":\#(now)}"#
            )
        }
        // Linear and inverse: pages of `limit` (default 500, here honoured down to 1) behind an opaque cursor.
        let limit = min(max(Int(query["limit"] ?? "") ?? 500, 1), 1000)
        let start = query["cursor"].flatMap { Int($0.dropFirst("p".count)) } ?? 0
        let page = Array(symbols.dropFirst(start).prefix(limit))
        let next = start + page.count < symbols.count ? "p\(start + page.count)" : ""
        return (
            200,
            #"{"retCode":0,"retMsg":"OK","result":{"category":"\#(category)","list":[\#(page.map(item).joined(separator: ","))],"nextPageCursor":"\#(next)"},"retExtInfo":{},"time":\#(now)}"#
        )
    }

    private func exchangeInfo(_ venue: Venue, now: Int64) -> (Int, String) {
        let symbols = (listed[venue] ?? [:]).sorted { $0.key < $1.key }
        let items = symbols.map { s, status in
            let base = s.hasSuffix("USDT") ? String(s.dropLast(4)) : s
            if venue == .binanceUSDM {
                let base =
                    s.split(separator: "_").first.map { $0.hasSuffix("USDT") ? String($0.dropLast(4)) : String($0) }
                    ?? s
                return
                    #"{"symbol":"\#(s)","pair":"\#(s.split(separator: "_").first ?? "")","contractType":"\#(s.contains("_") ? "CURRENT_QUARTER" : "PERPETUAL")","deliveryDate":4133404802000,"onboardDate":1569398400000,"status":"\#(status)","baseAsset":"\#(base)","quoteAsset":"USDT","marginAsset":"USDT","pricePrecision":2,"quantityPrecision":3,"filters":[{"minPrice":"556.80","maxPrice":"4529764","filterType":"PRICE_FILTER","tickSize":"0.10"}],"orderTypes":["LIMIT","MARKET"],"timeInForce":["GTC"]}"#
            }
            return
                #"{"symbol":"\#(s)","status":"\#(status)","baseAsset":"\#(base)","baseAssetPrecision":8,"quoteAsset":"USDT","quotePrecision":8,"quoteAssetPrecision":8,"orderTypes":["LIMIT","MARKET"],"icebergAllowed":true,"ocoAllowed":true,"isSpotTradingAllowed":true,"isMarginTradingAllowed":true,"filters":[{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"}],"permissions":[],"permissionSets":[["SPOT"]]}"#
        }
        let futures = venue == .binanceUSDM ? #""futuresType":"U_MARGINED","# : ""
        return (
            200,
            #"{"timezone":"UTC","serverTime":\#(now),\#(futures)"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":\#(limits.binanceWeightPerMinute)}],"exchangeFilters":[],"symbols":[\#(items.joined(separator: ","))]}"#
        )
    }

    // MARK: - Candle history

    /// One synthetic candle, the same for the same symbol, interval and start whoever asks (a random walk keyed by
    /// the start time), in ticks of 0.01: open, high, low, close, volume.
    public static func candle(symbol: String, interval: KlineInterval, start: Int64, base: String) -> [String] {
        let baseTicks = Int64(base.filter { $0 != "." }.prefix(12)) ?? 10_000
        let scale = base.split(separator: ".").count == 2 ? base.split(separator: ".")[1].count : 0
        var h = UInt64(bitPattern: start / interval.milliseconds) &* 0x9E37_79B9_7F4A_7C15
        for byte in symbol.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
        func next() -> Int64 {
            h ^= h >> 33
            h = h &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 33
            return Int64(h % 1_000)
        }
        let open = baseTicks + next() - 500
        let close = open + next() - 500
        let high = max(open, close) + next() / 10
        let low = max(1, min(open, close) - next() / 10)
        let volume = next() + 1
        func fmt(_ t: Int64) -> String { SimMarket.format(t, decimals: scale) }
        return [fmt(open), fmt(high), fmt(low), fmt(close), "\(volume).\(next() % 1000)"]
    }

    /// Candle starts in `from...to` (inclusive), `limit` of them: the earliest when `fromGiven`, else the latest;
    /// never one that has not started yet.
    static func starts(interval: KlineInterval, from: Int64?, to: Int64?, limit: Int, now: Int64) -> [Int64] {
        let ms = interval.milliseconds
        let last = (min(to ?? now, now) / ms) * ms
        if let from {
            var first = (from / ms) * ms
            if first < from { first += ms }
            guard first <= last else { return [] }
            let count = min(Int((last - first) / ms) + 1, limit)
            return (0..<count).map { first + Int64($0) * ms }
        }
        return (0..<limit).map { last - Int64(limit - 1 - $0) * ms }
    }

    private func bybitKlines(query: [String: String], now: Int64) -> (Int, String) {
        let category = query["category"] ?? "linear"
        let venue: Venue? = ["spot": .bybitSpot, "linear": .bybitLinear, "inverse": .bybitInverse][category]
        guard let venue, let symbol = query["symbol"], let base = basePrices[symbol],
            listed[venue]?[symbol] != nil
        else {
            return (
                200, #"{"retCode":10001,"retMsg":"Not supported symbols","result":{},"retExtInfo":{},"time":\#(now)}"#
            )
        }
        guard let interval = KlineInterval.allCases.first(where: { $0.bybitName == query["interval"] }) else {
            return (200, #"{"retCode":10001,"retMsg":"Invalid period!","result":{},"retExtInfo":{},"time":\#(now)}"#)
        }
        let limit = min(max(Int(query["limit"] ?? "") ?? 200, 1), 1000)
        // Bybit: the newest `limit` candles not after `end`, and not before `start`; newest first.
        var starts = Self.starts(
            interval: interval, from: nil, to: query["end"].flatMap { Int64($0) }, limit: limit, now: now)
        if let start = query["start"].flatMap({ Int64($0) }) { starts = starts.filter { $0 >= start } }
        let rows = starts.reversed().map { start -> String in
            let c = Self.candle(symbol: symbol, interval: interval, start: start, base: base)
            let turnover = "\(c[4])0"
            return #"["\#(start)","\#(c[0])","\#(c[1])","\#(c[2])","\#(c[3])","\#(c[4])","\#(turnover)"]"#
        }
        return (
            200,
            #"{"retCode":0,"retMsg":"OK","result":{"symbol":"\#(symbol)","category":"\#(category)","list":[\#(rows.joined(separator: ","))]},"retExtInfo":{},"time":\#(now)}"#
        )
    }

    private func binanceKlines(_ venue: Venue, query: [String: String], now: Int64) -> (Int, String) {
        guard let symbol = query["symbol"], let base = basePrices[symbol], listed[venue]?[symbol] != nil else {
            return (400, #"{"code":-1121,"msg":"Invalid symbol."}"#)
        }
        guard let interval = KlineInterval(rawValue: query["interval"] ?? "") else {
            return (400, #"{"code":-1120,"msg":"Invalid interval."}"#)
        }
        let maxLimit = venue == .binanceUSDM ? 1500 : 1000
        let limit = min(max(Int(query["limit"] ?? "") ?? 500, 1), maxLimit)
        let starts = Self.starts(
            interval: interval, from: query["startTime"].flatMap { Int64($0) },
            to: query["endTime"].flatMap { Int64($0) }, limit: limit, now: now)
        let rows = starts.map { start -> String in
            let c = Self.candle(symbol: symbol, interval: interval, start: start, base: base)
            let end = start + interval.milliseconds - 1
            return
                #"[\#(start),"\#(c[0])","\#(c[1])","\#(c[2])","\#(c[3])","\#(c[4])",\#(end),"\#(c[4])0",12,"0.5","50.0","0"]"#
        }
        return (200, "[" + rows.joined(separator: ",") + "]")
    }
}
