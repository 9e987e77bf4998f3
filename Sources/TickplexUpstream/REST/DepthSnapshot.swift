public import TickplexModel
import TickplexVenues

/// A Binance REST order-book snapshot (`{"lastUpdateId","bids","asks"}`), for a diff-depth book.
public struct DepthSnapshot: Sendable, Equatable {
    public var symbol: String
    public var lastUpdateId: Int64
    public var bids: [PriceLevel]
    public var asks: [PriceLevel]

    public init(symbol: String, lastUpdateId: Int64, bids: [PriceLevel], asks: [PriceLevel]) {
        self.symbol = symbol
        self.lastUpdateId = lastUpdateId
        self.bids = bids
        self.asks = asks
    }

    /// Reads a `/api/v3/depth` or `/fapi/v1/depth` body.
    public static func parse(_ body: String, symbol: String) throws(RESTError) -> DepthSnapshot {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw RESTError("depth: not JSON: \(error)") }
        guard let id = json["lastUpdateId"]?.int64 else {
            throw RESTError("depth: code \(json["code"]?.text ?? "?") \(json["msg"]?.string ?? "no lastUpdateId")")
        }
        func levels(_ name: String) throws(RESTError) -> [PriceLevel] {
            guard let rows = json[name]?.array else { throw RESTError("depth: no \(name)") }
            var out: [PriceLevel] = []
            out.reserveCapacity(rows.count)
            for row in rows {
                guard let pair = row.array, pair.count >= 2, let p = pair[0].string, let q = pair[1].string else {
                    throw RESTError("depth: a \(name) level is not [price, size]")
                }
                out.append(PriceLevel(price: p, size: q))
            }
            return out
        }
        return DepthSnapshot(symbol: symbol, lastUpdateId: id, bids: try levels("bids"), asks: try levels("asks"))
    }

    /// Fetches the 1,000-level snapshot of `symbol` on a Binance venue (weight 50 on spot, 20 on USD-M).
    public static func fetch(_ venue: Venue, symbol: String, clients: CatalogueService.Clients) async throws
        -> DepthSnapshot
    {
        let spot = venue == .binanceSpot
        let reply = try await (spot ? clients.binanceSpot : clients.binanceUSDM).get(
            spot ? "/api/v3/depth" : "/fapi/v1/depth", query: [("symbol", symbol), ("limit", "1000")],
            weight: BinanceAdapter.depthWeight(limit: 1000, usdm: !spot), maxWait: .seconds(70))
        guard reply.status == 200 else { throw RESTError("depth \(symbol): HTTP \(reply.status)") }
        return try parse(reply.body, symbol: symbol)
    }
}
