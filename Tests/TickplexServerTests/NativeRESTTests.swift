import Foundation
import HTTPTypes
import Testing
import TickplexTestSupport

/// The exchanges' own REST shapes served by Tickplex (issue 13's first native routes), checked against the recorded
/// bodies in Tests/Fixtures/exchange/rest: Bybit's kline and time, Binance's ping and time; everything else under
/// the venue prefixes is refused in the venue's error shape.
@Suite("Native REST: Bybit /v5/market/kline and time, Binance ping and time, nothing else served")
struct NativeRESTTests {
    static func fixture(_ path: String) throws -> [String: Any] {
        let url = ExchangeFixtures.root.appendingPathComponent("rest/" + path)
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    @Test("Bybit kline: the recorded body's shape, rows of 7 strings newest first, equal to the candles streamed")
    func bybitKline() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, _ in
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["kline:1m:BTCUSDT"]}"#)
            let stream = "tickplex.bybit.linear.kline.1m.BTCUSDT"
            @Sendable func closed() -> [Int: [String: Any]] {
                var byStart: [Int: [String: Any]] = [:]
                for m in c.data(for: stream) {
                    if let d = m["data"] as? [String: Any], d["closed"] as? Bool == true,
                        let start = (d["start"] as? NSNumber)?.intValue
                    {
                        byStart[start] = d
                    }
                }
                return byStart
            }
            #expect(await eventually(timeout: .seconds(20)) { closed().count >= 3 })
            let seen = closed()
            let (status, body) = try await httpGet(
                port: port, "/bybit/v5/market/kline?category=linear&symbol=BTCUSDT&interval=1&limit=3")
            #expect(status == 200)
            let answer = try #require(jsonObject(body))
            let recorded = try Self.fixture("bybit/kline_linear.json")
            #expect(Set(answer.keys) == Set(recorded.keys), "envelope keys: \(answer.keys.sorted())")
            #expect(answer["retCode"] as? Int == 0 && answer["retMsg"] as? String == "OK")
            #expect(answer["time"] is NSNumber && answer["retExtInfo"] is [String: Any])
            let result = try #require(answer["result"] as? [String: Any])
            let recordedResult = try #require(recorded["result"] as? [String: Any])
            #expect(Set(result.keys) == Set(recordedResult.keys))
            #expect(result["symbol"] as? String == "BTCUSDT" && result["category"] as? String == "linear")
            let rows = try #require(result["list"] as? [[Any]])
            #expect(rows.count == 3)
            #expect(rows.allSatisfy { $0.count == 7 && $0.allSatisfy { $0 is String } }, "rows of 7 strings")
            let starts = rows.compactMap { Int($0[0] as? String ?? "") }
            #expect(starts == starts.sorted(by: >), "newest first: \(starts)")
            // Each closed row carries the streamed candle's values exactly.
            var compared = 0
            for row in rows {
                guard let start = Int(row[0] as? String ?? ""), let candle = seen[start] else { continue }
                let fields = ["open", "high", "low", "close", "volume", "turnover"].map { candle[$0] as? String }
                #expect(row.dropFirst().map { $0 as? String } == fields, "row \(start)")
                compared += 1
            }
            #expect(compared >= 2)
            // start and end bound the range; the newest of it come first.
            let (first, second) = (starts[1], starts[0])
            let bounded = try #require(
                jsonObject(
                    try await httpGet(
                        port: port,
                        "/bybit/v5/market/kline?symbol=BTCUSDT&interval=1&start=\(first)&end=\(second)"
                    ).body)?["result"] as? [String: Any])
            let boundedStarts = ((bounded["list"] as? [[Any]]) ?? []).compactMap { Int($0[0] as? String ?? "") }
            #expect(boundedStarts == [second, first], "\(boundedStarts)")
            c.close()
        }
    }

    @Test(
        "Bybit kline errors: HTTP 200, retCode 10001, the reason; an unlisted symbol as Bybit words it",
        arguments: [
            ("category=linear&interval=1", "symbol"), ("symbol=BTCUSDT&interval=7", "interval"),
            ("symbol=BTCUSDT", "interval"), ("category=option&symbol=BTCUSDT&interval=1", "category"),
            ("symbol=BTCUSDT&interval=1&limit=0", "limit"), ("symbol=BTCUSDT&interval=1&limit=1001", "limit"),
            ("symbol=BTCUSDT&interval=1&start=x", "start"), ("symbol=BTCUSDT&interval=1&start=9&end=5", "start"),
            ("symbol=BTCUSDT&interval=1&foo=1", "foo"), ("symbol=NOPEUSDT&interval=1", "Not supported symbols"),
        ])
    func bybitKlineErrors(query: String, named: String) async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            // The unlisted symbol is refused by the catalogue: loaded first.
            #expect(await eventually { catalogueLoaded(node) })
            let (status, body) = try await httpGet(port: port, "/bybit/v5/market/kline?\(query)")
            #expect(status == 200, "Bybit answers errors with HTTP 200")
            let answer = try #require(jsonObject(body))
            #expect(answer["retCode"] as? Int == 10001, "\(body)")
            #expect((answer["retMsg"] as? String)?.contains(named) == true, "\(body)")
            #expect((answer["result"] as? [String: Any])?.isEmpty == true)
        }
    }

    @Test("time and ping in each venue's shape")
    func timeAndPing() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, _ in
            // The server's clock read between our reads before and after the request (no bound on how long it takes).
            func millis() -> Int { Int(Date().timeIntervalSince1970 * 1000) }
            let before = millis()
            let bybit = try #require(jsonObject(try await httpGet(port: port, "/bybit/v5/market/time").body))
            let after = millis()
            let result = try #require(bybit["result"] as? [String: Any])
            let second = try #require(Int(result["timeSecond"] as? String ?? ""))
            #expect((before / 1000)...(after / 1000) ~= second, "\(second) not in \(before)...\(after)")
            #expect((result["timeNano"] as? String)?.hasPrefix(String(second)) == true)
            let recordedTime = try Self.fixture("binance/time.json")
            for prefix in ["/binance/spot/api/v3", "/binance/usdm/fapi/v1"] {
                let ping = try await httpGet(port: port, prefix + "/ping")
                #expect(ping.status == 200 && ping.body == "{}")
                let before = millis()
                let time = try #require(jsonObject(try await httpGet(port: port, prefix + "/time").body))
                let after = millis()
                #expect(Set(time.keys) == Set(recordedTime.keys))
                let serverTime = try #require((time["serverTime"] as? NSNumber)?.intValue)
                #expect(before...after ~= serverTime, "\(serverTime) not in \(before)...\(after)")
            }
        }
    }

    @Test(
        "account and order paths, and anything unknown under the venues: 404 in the venue's shape, never forwarded",
        arguments: [
            (HTTPRequest.Method.get, "/binance/spot/api/v3/account"), (.post, "/binance/spot/api/v3/order"),
            (.delete, "/binance/usdm/fapi/v1/order"), (.get, "/binance/anything"),
            (.post, "/bybit/v5/order/create"), (.get, "/bybit/v5/account/wallet-balance"), (.get, "/bybit/v5/x/y/z"),
        ])
    func notServed(method: HTTPRequest.Method, path: String) async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, _ in
            let response = try await httpRequest(port: port, method, path)
            #expect(response.status == 404, "\(method) \(path)")
            let answer = try #require(jsonObject(response.body))
            if path.hasPrefix("/binance/") {
                #expect(answer["code"] as? Int == -1000 && (answer["msg"] as? String)?.contains(path) == true)
            } else {
                #expect(answer["retCode"] as? Int == 10001 && (answer["retMsg"] as? String)?.contains(path) == true)
            }
        }
    }

    @Test("Binance spot ticker/price and ticker/bookTicker: the recorded shapes, decimal strings, Binance's errors")
    func binanceTickers() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            #expect(await eventually { catalogueLoaded(node) })
            let decimal = #/^[0-9]+(\.[0-9]+)?$/#
            let book = try await httpGet(port: port, "/binance/spot/api/v3/ticker/bookTicker?symbol=BTCUSDT")
            #expect(book.status == 200, "\(book.body)")
            let answer = try #require(jsonObject(book.body))
            let recorded = try Self.fixture("binance/bookTicker.json")
            #expect(Set(answer.keys) == Set(recorded.keys), "\(answer.keys.sorted())")
            #expect(answer["symbol"] as? String == "BTCUSDT")
            for k in ["bidPrice", "bidQty", "askPrice", "askQty"] {
                let v = answer[k] as? String ?? ""
                #expect(v.wholeMatch(of: decimal) != nil, "\(k): \(v)")
            }
            let price = try #require(
                jsonObject(try await httpGet(port: port, "/binance/spot/api/v3/ticker/price?symbol=BTCUSDT").body))
            #expect(Set(price.keys) == ["symbol", "price"])
            #expect((price["price"] as? String ?? "").wholeMatch(of: decimal) != nil)
            // The same ticker as /v1/quote on binance.spot: the stream is the one Tickplex already carries.
            let quote = try #require(
                jsonObject(try await httpGet(port: port, "/v1/quote/BTCUSDT?venue=binance.spot").body))
            #expect(quote["stream"] as? String == "tickplex.binance.spot.ticker.BTCUSDT")
            for (query, code) in [
                ("", -1102), ("symbol=btcusdt", -1100), ("symbol=NOPEUSDT", -1121), ("symbol=BTCUSDT&x=1", -1104),
            ] {
                let r = try await httpGet(port: port, "/binance/spot/api/v3/ticker/price?\(query)")
                #expect(r.status == 400, "\(query): \(r.body)")
                #expect(jsonObject(r.body)?["code"] as? Int == code, "\(query): \(r.body)")
            }
        }
    }
}
