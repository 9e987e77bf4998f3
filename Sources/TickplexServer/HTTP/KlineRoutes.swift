import Foundation
import Hummingbird
import Logging
import NIOCore
import TickplexBus
import TickplexConfig
import TickplexModel
import TickplexProtocol
import TickplexUpstream
import TickplexVenues

/// `GET /v1/klines?symbol=&interval=&from=&to=&limit=&venue=`: closed candles from history, ascending.
/// `from`/`to` are inclusive bounds on the candle start (ms); `limit` 1…1000, default 500: the earliest candles
/// from `from` when it is given, otherwise the latest ones. Every bad or unknown parameter → 400 naming it.
/// `GET /v1/klines`: closed candles from the history the node keeps; a range the store does not hold is filled
/// once from the exchange's REST klines (the closed candles fetched are kept; the current one is answered open and
/// never stored), within a bounded REST budget per request.
struct KlineRoutes: Sendable {
    let config: TickplexConfig
    let history: any CandleHistory
    /// Where each series is kept.
    let keyspace: RedisKeyspace
    let backfill: KlineBackfill?
    /// The catalogue's refusal of a symbol (unlisted → 404), or nil.
    let listing: @Sendable (StreamKey) -> VenueRejection?
    let logger: Logger

    static let path = "/v1/klines"
    // `token` is the credential of AUTH_MODE=apikey (read by the access middleware).
    static let parameters: Set<String> = ["symbol", "interval", "from", "to", "limit", "venue", "token"]

    func register(on router: Router<some RequestContext>) {
        router.get(RouterPath(stringLiteral: Self.path)) { request, _ in
            await klines(request.uri.queryParameters)
        }
        MethodNotAllowed.register(Self.path, allow: "GET", on: router)
    }

    func klines(_ query: Parameters) async -> Response {
        func value(_ name: String) -> String? { query[Substring(name)].map(String.init) }
        let symbol: String
        let interval: KlineInterval
        let venue: Venue
        let from: Int64?
        let to: Int64?
        let limit: Int
        do throws(BadParameter) {
            if let unknown = RESTParameters.firstUnknown(query, accepted: Self.parameters) {
                throw BadParameter(
                    parameter: unknown,
                    message:
                        "unknown parameter \"\(unknown)\"; accepted: \(Self.parameters.sorted().joined(separator: ", "))"
                )
            }
            symbol = try RESTParameters.symbol(value("symbol"))
            interval = try RESTParameters.interval(value("interval"))
            venue = try RESTParameters.venue(value("venue"), default: config.defaultVenue)
            from = try RESTParameters.millis("from", value("from"))
            to = try RESTParameters.millis("to", value("to"))
            limit = try RESTParameters.limit(value("limit"))
            if let from, let to, from > to {
                throw BadParameter(parameter: "from", message: "from (\(from)) is after to (\(to))")
            }
        } catch {
            return error.response
        }
        let key = StreamKey.kline(interval, symbol, venue)
        if let unlisted = listing(key) {
            return JSONResponse.error(.notFound, unlisted.reason)
        }
        let candles: [ByteBuffer]
        do {
            candles = try await self.candles(key, from: from, to: to, limit: limit)
        } catch {
            return JSONResponse.error(.serviceUnavailable, "candle history unavailable: \(error)")
        }
        // The stored candles are JSON already: spliced in as they are.
        var body = ByteBuffer()
        body.writeString(
            #"{"symbol":"\#(symbol)","venue":"\#(venue.rawValue)","interval":"\#(interval.rawValue)","stream":"\#(key.streamName(brand: config.brand))","candles":["#
        )
        for (i, candle) in candles.enumerated() {
            if i > 0 { body.writeString(",") }
            var c = candle
            body.writeBuffer(&c)
        }
        body.writeString("]}")
        return JSONResponse.make(.ok, bytes: body)
    }

    /// The candles of `key` in the range, ascending, at most `limit`: the history's closed ones (a range it does not
    /// hold filled from the exchange's REST klines), and the running candle when it lies in the range (never
    /// stored). Throws when the history is away.
    func candles(_ key: StreamKey, from: Int64?, to: Int64?, limit: Int) async throws -> [ByteBuffer] {
        guard let interval = key.interval else { return [] }
        let series = keyspace.history(key)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var open: Candle?
        var candles = try await history.range(series: series, from: from, to: to, limit: limit)
        if let backfill, candles.count < Self.slots(interval, from: from, to: to, limit: limit, now: now) {
            do {
                let fetched = try await backfill.candles(key, from: from, to: to, limit: limit, now: now)
                let held = Set(candles.compactMap(Self.start))
                for c in fetched where c.closed && !held.contains(c.start) {
                    try await history.add(
                        series: series, start: c.start, candle: ByteBuffer(bytes: Transformer.json(c)))
                }
                open = fetched.last { !$0.closed && (from ?? .min) <= $0.start && $0.start <= (to ?? .max) }
                candles = try await history.range(series: series, from: from, to: to, limit: limit)
            } catch {
                // The store's answer stands; the exchange is asked again on the next request.
                logger.warning("klines \(key.argument): not filled from the exchange: \(error)")
            }
        }
        if let open {
            let buffer = ByteBuffer(bytes: Transformer.json(open))
            if from == nil {
                candles = Array((candles + [buffer]).suffix(limit))
            } else if candles.count < limit {
                candles.append(buffer)
            }
        }
        return candles
    }

    /// How many closed candles the range can hold at most: interval starts in it whose candle has ended by `now`, at
    /// most `limit` (the current candle is never stored, so it does not count as missing).
    static func slots(_ interval: KlineInterval, from: Int64?, to: Int64?, limit: Int, now: Int64) -> Int {
        let ms = interval.milliseconds
        let current = (now / ms) * ms
        let lastStart = (min(to ?? now, now) / ms) * ms
        let lastClosed = lastStart == current ? lastStart - ms : lastStart
        guard let from else { return lastStart == current ? limit - 1 : limit }
        var first = (from / ms) * ms
        if first < from { first += ms }
        guard first <= lastClosed else { return 0 }
        return min(Int((lastClosed - first) / ms) + 1, limit)
    }

    /// The `start` of a stored candle.
    static func start(_ candle: ByteBuffer) -> Int64? {
        (try? JSONParser.parse(String(buffer: candle)))?["start"]?.int64
    }
}
