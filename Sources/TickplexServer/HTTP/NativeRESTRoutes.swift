import Foundation
import Hummingbird
import NIOCore
import TickplexConfig
import TickplexModel
import TickplexVenues

/// The exchanges' own REST shapes, served by Tickplex (the first routes of issue 13's native REST edge), so that a
/// bot written against Bybit or Binance changes only its base URL:
/// - Bybit `/bybit/v5/market/time` and `/bybit/v5/market/kline` (from the candle history, rows of 7 strings,
///   newest first, Bybit's envelope; errors answer HTTP 200 with `retCode` 10001 as Bybit does);
/// - Binance `/binance/spot/api/v3/{ping,time}` and `/binance/usdm/fapi/v1/{ping,time}`; spot
///   `ticker/price` and `ticker/bookTicker` for one `symbol`, from the live ticker (never stale, as `/v1/quote`).
/// Every other path under `/bybit/` and `/binance/` answers 404 in the venue's error shape: a market-data proxy is
/// never a way to account or order endpoints, and nothing is forwarded.
struct NativeRESTRoutes: Sendable {
    let klines: KlineRoutes
    /// The last ticker, fresh (subscribed on demand, as `/v1/quote` does).
    let quotes: QuoteRoutes

    static let bybitKlineParameters: Set<String> = ["category", "symbol", "interval", "start", "end", "limit", "token"]

    func register(on router: Router<some RequestContext>) {
        router.get("/bybit/v5/market/time") { _, _ in
            let now = Self.nowMs()
            var w = JSONWriter(capacity: 80)
            w.beginObject()
            w.key("timeSecond")
            w.string(String(now / 1000))
            w.key("timeNano")
            w.string(String(now) + "000000")
            w.endObject()
            return Self.bybit(result: w.bytes)
        }
        router.get("/bybit/v5/market/kline") { request, _ in
            await bybitKline(request.uri.queryParameters)
        }
        for prefix in ["/binance/spot/api/v3", "/binance/usdm/fapi/v1"] {
            router.get(RouterPath(stringLiteral: prefix + "/ping")) { _, _ in Self.json(.ok, Array("{}".utf8)) }
            router.get(RouterPath(stringLiteral: prefix + "/time")) { _, _ in
                Self.json(.ok, Array(#"{"serverTime":\#(Self.nowMs())}"#.utf8))
            }
        }
        router.get("/binance/spot/api/v3/ticker/price") { request, _ in
            await binanceTicker(request, fields: [("price", "price")])
        }
        router.get("/binance/spot/api/v3/ticker/bookTicker") { request, _ in
            await binanceTicker(
                request,
                fields: [
                    ("bidPrice", "bid.price"), ("bidQty", "bid.size"), ("askPrice", "ask.price"),
                    ("askQty", "ask.size"),
                ])
        }
        // Anything else under the venues' prefixes: not served, in the venue's shape.
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] {
            router.on("/bybit/**", method: method) { request, _ in Self.bybitNotServed(request.uri.path) }
            router.on("/binance/**", method: method) { request, _ in Self.binanceNotServed(request.uri.path) }
        }
    }

    // MARK: - Bybit kline

    /// `GET /v5/market/kline?category=&symbol=&interval=&start=&end=&limit=`. The latest `limit` (default 200,
    /// 1…1000) closed candles with a start in [`start`, `end`], and the running one when it is in the range, newest
    /// first (Bybit does not document how the three combine; this is the reading that pages back by `end`).
    func bybitKline(_ query: Parameters) async -> Response {
        func value(_ name: String) -> String? { query[Substring(name)].map(String.init) }
        if let unknown = RESTParameters.firstUnknown(query, accepted: Self.bybitKlineParameters) {
            return Self.bybitError("params error: unknown parameter \(unknown)")
        }
        let venue: Venue
        switch value("category") ?? "linear" {
        case "linear": venue = .bybitLinear
        case "spot": venue = .bybitSpot
        case "inverse": venue = .bybitInverse
        case let other: return Self.bybitError("params error: category \(other) is not spot, linear or inverse")
        }
        guard let symbol = value("symbol"), !symbol.isEmpty else {
            return Self.bybitError("params error: symbol is required")
        }
        guard let interval = value("interval").flatMap(KlineInterval.init(bybitName:)) else {
            let names = KlineInterval.allCases.map(\.bybitName).joined(separator: ",")
            return Self.bybitError("params error: interval must be one of \(names)")
        }
        let start: Int64?
        let end: Int64?
        let limit: Int
        do throws(BadParameter) {
            start = try RESTParameters.millis("start", value("start"))
            end = try RESTParameters.millis("end", value("end"))
        } catch {
            return Self.bybitError("params error: \(error.message)")
        }
        if let raw = value("limit") {
            guard let n = Int(raw), (1...1000).contains(n) else {
                return Self.bybitError("params error: limit must be 1 to 1000")
            }
            limit = n
        } else {
            limit = 200
        }
        if let start, let end, start > end { return Self.bybitError("params error: start is after end") }
        let key = StreamKey.kline(interval, symbol.uppercased(), venue)
        if klines.listing(key) != nil { return Self.bybitError("Not supported symbols") }
        let candles: [ByteBuffer]
        do {
            // The latest up to `end`, then those from `start`: the newest `limit` of the range.
            candles = try await klines.candles(key, from: nil, to: end, limit: limit)
        } catch {
            return Self.bybitError("Request timeout, please try again later", code: 10016)
        }
        var w = JSONWriter(capacity: 64 + candles.count * 96)
        w.beginObject()
        w.key("symbol")
        w.string(key.symbol)
        w.key("category")
        w.string(value("category") ?? "linear")
        w.key("list")
        w.arrayValue()
        for candle in candles.reversed() {
            guard let row = Self.bybitRow(candle), start.map({ row.start >= $0 }) ?? true else { continue }
            w.beginArray()
            for field in row.fields { w.string(field) }
            w.endArray()
        }
        w.endArray()
        w.endObject()
        return Self.bybit(result: w.bytes)
    }

    /// A stored candle as Bybit's row: `[startTime, open, high, low, close, volume, turnover]`, all strings.
    static func bybitRow(_ candle: ByteBuffer) -> (start: Int64, fields: [String])? {
        guard let json = try? JSONParser.parse(candle.readableBytesView), let start = json["start"]?.int64 else {
            return nil
        }
        let fields = ["open", "high", "low", "close", "volume", "turnover"].map { json[$0]?.string ?? "0" }
        return (start, [String(start)] + fields)
    }

    // MARK: - Binance spot tickers

    /// `{"symbol":…, <fields>}` from the fresh ticker of `symbol` on binance.spot; Binance's errors otherwise
    /// (`-1102` without a symbol: one symbol per request here, the all-market answer is not served; `-1121` for an
    /// unknown one; `-1001` while the exchange has sent nothing fresh).
    func binanceTicker(_ request: Request, fields: [(name: String, path: String)]) async -> Response {
        let query = request.uri.queryParameters
        if let unknown = RESTParameters.firstUnknown(query, accepted: ["symbol", "token"]) {
            return Self.binanceError(
                .badRequest, -1104, "Not all sent parameters were read; parameter '\(unknown)' is not accepted here.")
        }
        guard let symbol = query["symbol"].map(String.init), !symbol.isEmpty else {
            return Self.binanceError(
                .badRequest, -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed. (One symbol per request here.)"
            )
        }
        guard symbol.utf8.count <= 20, symbol.allSatisfy({ $0.isUppercase || $0.isNumber || "-_.".contains($0) }) else {
            return Self.binanceError(
                .badRequest, -1100,
                "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.")
        }
        let answer = await quotes.answer(
            symbol: symbol, venue: Venue.binanceSpot.rawValue, caller: quotes.caller(request))
        let body: ByteBuffer
        switch answer {
        case .fresh(let fresh): body = fresh
        case .refused(let response):
            switch response.status.code {
            case 400, 404: return Self.binanceError(.badRequest, -1121, "Invalid symbol.")
            case 429:
                return Self.binanceError(
                    .tooManyRequests, -1003, "Too many new streams from this client; try again later.")
            default:
                return Self.binanceError(
                    .serviceUnavailable, -1001, "Internal error; unable to process your request. Please try again.")
            }
        }
        guard let ticker = try? JSONParser.parse(body.readableBytesView) else {
            return Self.binanceError(
                .serviceUnavailable, -1001, "Internal error; unable to process your request. Please try again.")
        }
        var w = JSONWriter(capacity: 160)
        w.beginObject()
        w.key("symbol")
        w.string(symbol)
        for field in fields {
            var value: JSONValue? = ticker
            for part in field.path.split(separator: ".") { value = value?[String(part)] }
            w.key(field.name)
            w.string(value?.string)
        }
        w.endObject()
        return Self.json(.ok, w.bytes)
    }

    // MARK: - Shapes

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Bybit's envelope: `{"retCode":0,"retMsg":"OK","result":…,"retExtInfo":{},"time":…}`.
    static func bybit(result: [UInt8], retCode: Int = 0, retMsg: String = "OK", status: HTTPResponse.Status = .ok)
        -> Response
    {
        var message = JSONWriter(capacity: 64)
        message.string(retMsg)
        // The result is JSON already: spliced in as it is.
        let text =
            #"{"retCode":\#(retCode),"retMsg":"# + String(decoding: message.bytes, as: UTF8.self) + #","result":"#
            + String(decoding: result, as: UTF8.self) + #","retExtInfo":{},"time":\#(nowMs())}"#
        return json(status, Array(text.utf8))
    }

    /// A Bybit error: HTTP 200 (Bybit's rule), `retCode` 10001 unless said, `"result":{}`.
    static func bybitError(_ message: String, code: Int = 10001) -> Response {
        bybit(result: Array("{}".utf8), retCode: code, retMsg: message)
    }

    static func bybitNotServed(_ path: String) -> Response {
        bybit(
            result: Array("{}".utf8), retCode: 10001,
            retMsg: "\(path) is not served: this is a market-data proxy (market endpoints only)", status: .notFound)
    }

    static func binanceNotServed(_ path: String) -> Response {
        binanceError(.notFound, -1000, "\(path) is not served: this is a market-data proxy (market endpoints only)")
    }

    /// Binance's error body: `{"code":…,"msg":…}`.
    static func binanceError(_ status: HTTPResponse.Status, _ code: Int, _ message: String) -> Response {
        var w = JSONWriter(capacity: 160)
        w.beginObject()
        w.key("code")
        w.int(Int64(code))
        w.key("msg")
        w.string(message)
        w.endObject()
        return json(status, w.bytes)
    }

    static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
