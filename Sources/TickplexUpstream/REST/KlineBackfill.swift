public import TickplexModel
import TickplexVenues

/// Candle history from the exchange's REST klines, for ranges the node did not see close: Bybit
/// `/v5/market/kline` (rows of 7 strings, newest first), Binance `/api/v3/klines` and `/fapi/v1/klines` (rows of 12,
/// oldest first). A candle is closed only when its end has passed by the exchange's clock: the current candle comes
/// back open, never closed, and a closed one never open.
public struct KlineBackfill: Sendable {
    public let clients: CatalogueService.Clients

    public init(clients: CatalogueService.Clients) { self.clients = clients }

    /// At most `limit` candles with a start in `from...to` (the earliest when `from` is given, else the latest),
    /// in one request to the venue.
    public func candles(
        _ key: StreamKey, from: Int64?, to: Int64?, limit: Int, now: Int64, maxWait: Duration = .seconds(2)
    ) async throws -> [Candle] {
        guard let interval = key.interval else { return [] }
        let ms = interval.milliseconds
        switch key.venue {
        case .bybitSpot, .bybitLinear, .bybitInverse:
            let category = BybitAdapter.Category(venue: key.venue)?.rawValue ?? "linear"
            var query = [
                ("category", category), ("symbol", key.symbol), ("interval", interval.bybitName),
                ("limit", String(min(limit, 1000))),
            ]
            // Bybit's reading of start/end/limit is not documented: both bounds are always given.
            let end = to ?? (from.map { $0 + Int64(min(limit, 1000)) * ms - 1 } ?? now)
            if let from { query.append(("start", String(from))) }
            query.append(("end", String(min(end, now))))
            let reply = try await clients.bybit.get("/v5/market/kline", query: query, maxWait: maxWait)
            guard reply.status == 200 else { throw RESTError("bybit kline: HTTP \(reply.status)") }
            return try Self.bybitRows(reply.body, interval: interval, now: now)
        case .binanceSpot, .binanceUSDM:
            let spot = key.venue == .binanceSpot
            let capped = min(limit, spot ? 1000 : 1500)
            var query = [("symbol", key.symbol), ("interval", interval.rawValue), ("limit", String(capped))]
            if let from { query.append(("startTime", String(from))) }
            if let to { query.append(("endTime", String(to))) }
            let weight = BinanceAdapter.klinesWeight(limit: capped, usdm: !spot)
            let reply = try await (spot ? clients.binanceSpot : clients.binanceUSDM).get(
                spot ? "/api/v3/klines" : "/fapi/v1/klines", query: query, weight: weight, maxWait: maxWait)
            guard reply.status == 200 else {
                throw RESTError("binance klines: HTTP \(reply.status): \(reply.body.prefix(200))")
            }
            return try Self.binanceRows(reply.body, interval: interval, now: now)
        }
    }

    /// Bybit kline rows `[start, open, high, low, close, volume, turnover]` (strings, newest first) → ascending.
    public static func bybitRows(_ body: String, interval: KlineInterval, now: Int64) throws(RESTError) -> [Candle] {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw RESTError("bybit kline: not JSON: \(error)") }
        guard json["retCode"]?.int64 == 0 else {
            throw RESTError("bybit kline: retCode \(json["retCode"]?.text ?? "?") \(json["retMsg"]?.string ?? "")")
        }
        guard let list = json["result"]?["list"]?.array else { throw RESTError("bybit kline: no result.list") }
        let serverTime = json["time"]?.int64 ?? now
        var out: [Candle] = []
        for row in list {
            guard let f = row.array?.compactMap(\.string), f.count >= 7, let start = Int64(f[0]) else {
                throw RESTError("bybit kline: a row is not 7 strings")
            }
            let end = start + interval.milliseconds - 1
            out.append(
                Candle(
                    interval: interval, start: start, end: end, open: f[1], high: f[2], low: f[3], close: f[4],
                    volume: f[5], turnover: f[6], closed: end < serverTime))
        }
        return out.sorted { $0.start < $1.start }
    }

    /// Binance kline rows `[openTime, o, h, l, c, volume, closeTime, quoteVolume, …]` (ascending).
    public static func binanceRows(_ body: String, interval: KlineInterval, now: Int64) throws(RESTError) -> [Candle] {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw RESTError("binance klines: not JSON: \(error)") }
        guard let rows = json.array else {
            throw RESTError(
                "binance klines: code \(json["code"]?.text ?? "?") \(json["msg"]?.string ?? "not an array")")
        }
        var out: [Candle] = []
        for row in rows {
            guard let f = row.array, f.count >= 8, let start = f[0].int64, let end = f[6].int64,
                let o = f[1].string, let h = f[2].string, let l = f[3].string, let c = f[4].string,
                let v = f[5].string, let q = f[7].string
            else { throw RESTError("binance klines: a row is not the 12-field layout") }
            out.append(
                Candle(
                    interval: interval, start: start, end: end, open: o, high: h, low: l, close: c, volume: v,
                    turnover: q, closed: end < now))
        }
        return out.sorted { $0.start < $1.start }
    }
}
