import Hummingbird
import NIOCore
import TickplexBus
import TickplexConfig
import TickplexModel

/// `GET /v1/klines?symbol=&interval=&from=&to=&limit=&venue=`: closed candles from history, ascending.
/// `from`/`to` are inclusive bounds on the candle start (ms); `limit` 1…1000, default 500: the earliest candles
/// from `from` when it is given, otherwise the latest ones. Every bad or unknown parameter → 400 naming it.
struct KlineRoutes: Sendable {
    let config: TickplexConfig
    let history: any CandleHistory

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
            if let unknown = query.map({ String($0.key) }).sorted().first(where: { !Self.parameters.contains($0) }) {
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
        let candles: [ByteBuffer]
        do {
            candles = try await history.range(
                series: EventPublisher.historyKey(key, brand: config.brand), from: from, to: to, limit: limit)
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
}
