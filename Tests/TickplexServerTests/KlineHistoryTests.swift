import Foundation
import HTTPTypes
import Testing
import TickplexTestSupport

@Suite("GET /v1/klines: the closed candles the simulator sent, bounds, bad parameters, restarts")
struct KlineHistoryTests {
    static let stream = "tickplex.bybit.linear.kline.1m.BTCUSDT"

    /// The closed candles a client saw on the stream, by start.
    static func closedCandles(_ c: WireClient) -> [[String: Any]] {
        var byStart: [Int: [String: Any]] = [:]
        for m in c.data(for: stream) {
            guard let d = m["data"] as? [String: Any], d["closed"] as? Bool == true,
                let start = (d["start"] as? NSNumber)?.intValue
            else { continue }
            byStart[start] = d
        }
        return byStart.keys.sorted().map { byStart[$0]! }
    }

    /// The first three closed candles one minute apart, if the client has seen three in a row.
    static func consecutive(_ candles: [[String: Any]]) -> [[String: Any]]? {
        let starts = candles.map { ($0["start"] as? NSNumber)?.intValue ?? 0 }
        guard starts.count >= 3 else { return nil }
        for i in 0...(starts.count - 3)
        where starts[i + 1] - starts[i] == 60_000 && starts[i + 2] - starts[i + 1] == 60_000 {
            return Array(candles[i..<(i + 3)])
        }
        return nil
    }

    static func same(_ a: [String: Any], _ b: [String: Any]) -> Bool {
        ["open", "high", "low", "close", "volume", "turnover", "interval"].allSatisfy {
            a[$0] as? String == b[$0] as? String
        }
            && ["start", "end"].allSatisfy { (a[$0] as? NSNumber)?.intValue == (b[$0] as? NSNumber)?.intValue }
            && b["closed"] as? Bool == true
    }

    @Test("3 closed candles → exactly those 3 with the simulator's values; from/to/limit", arguments: BusMode.allCases)
    func history(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim"]) { port, _ in
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["kline:1m:BTCUSDT"]}"#)
            // Three in a row: a candle that closed while the upstream was away (a reconnect on a loaded machine)
            // never reached the stream, and the history fills it from the exchange's REST klines instead.
            #expect(await eventually(timeout: .seconds(20)) { Self.consecutive(Self.closedCandles(c)) != nil })
            let sent = try #require(Self.consecutive(Self.closedCandles(c)))
            let from = (sent[0]["start"] as! NSNumber).intValue
            let to = (sent[2]["start"] as! NSNumber).intValue
            let (status, body) = try await httpGet(
                port: port, "/v1/klines?symbol=BTCUSDT&interval=1m&from=\(from)&to=\(to)")
            #expect(status == 200)
            let answer = try #require(jsonObject(body))
            #expect(answer["symbol"] as? String == "BTCUSDT" && answer["interval"] as? String == "1m")
            let candles = try #require(answer["candles"] as? [[String: Any]])
            #expect(candles.count == 3)
            #expect(zip(sent, candles).allSatisfy { Self.same($0, $1) }, "\(sent) vs \(candles)")
            // limit: the earliest from `from`; without `from`, the latest.
            let two = try #require(
                jsonObject(
                    try await httpGet(port: port, "/v1/klines?symbol=BTCUSDT&interval=1m&from=\(from)&limit=2").body)?[
                        "candles"] as? [[String: Any]])
            #expect(two.count == 2 && Self.same(sent[0], two[0]) && Self.same(sent[1], two[1]))
            let latest = try #require(
                jsonObject(
                    try await httpGet(port: port, "/v1/klines?symbol=BTCUSDT&interval=1m&limit=1&to=\(to)").body)?[
                        "candles"] as? [[String: Any]])
            #expect(latest.count == 1 && Self.same(sent[2], latest[0]))
            let alias = try #require(
                jsonObject(
                    try await httpGet(port: port, "/v1/klines?symbol=btcusdt&interval=1&from=\(from)&to=\(to)").body)?[
                        "candles"] as? [[String: Any]])
            #expect(alias.count == 3, "Bybit's interval name and a lower-case symbol are accepted")
            // Another series nobody streamed: filled from the exchange's REST klines (KlineBackfillTests).
            let hourly = try #require(
                jsonObject(try await httpGet(port: port, "/v1/klines?symbol=BTCUSDT&interval=1h&limit=5").body)?[
                    "candles"] as? [[String: Any]])
            #expect(hourly.count == 5 && hourly.allSatisfy { $0["interval"] as? String == "1h" })
            c.close()
        }
    }

    @Test(
        "every bad parameter → 400 naming it",
        arguments: [
            ("interval=1m", "symbol"), ("symbol=BTCUSDT", "interval"), ("symbol=BTCUSDT&interval=7m", "interval"),
            ("symbol=BTC*&interval=1m", "symbol"), ("symbol=BTCUSDT&interval=1m&from=abc", "from"),
            ("symbol=BTCUSDT&interval=1m&to=-5", "to"), ("symbol=BTCUSDT&interval=1m&limit=0", "limit"),
            ("symbol=BTCUSDT&interval=1m&limit=1001", "limit"), ("symbol=BTCUSDT&interval=1m&limit=x", "limit"),
            ("symbol=BTCUSDT&interval=1m&from=10&to=5", "from"), ("symbol=BTCUSDT&interval=1m&venue=ftx", "venue"),
            ("symbol=BTCUSDT&interval=1m&startTime=1", "startTime"),
        ])
    func badParameters(query: String, parameter: String) async throws {
        try await withNode([:]) { port, _ in
            let (status, body) = try await httpGet(port: port, "/v1/klines?\(query)")
            #expect(status == 400)
            let err = try #require(jsonObject(body))
            #expect(err["parameter"] as? String == parameter)
            #expect(((err["error"] as? String)?.count ?? 0) > 15, "says what is accepted")
            #expect(try await httpRequest(port: port, .post, "/v1/klines?\(query)").status == 405)
        }
    }

    @Test("Redis mode: the history survives a Tickplex restart")
    func survivesRestart() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let first: String = try await withNode(["UPSTREAM": "sim", "REDIS_URL": server.url]) { port, _ in
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["kline:1m:BTCUSDT"]}"#)
            #expect(await eventually(timeout: .seconds(15)) { Self.closedCandles(c).count >= 3 })
            c.close()
            let to = (Self.closedCandles(c)[2]["start"] as! NSNumber).intValue
            return try await httpGet(port: port, "/v1/klines?symbol=BTCUSDT&interval=1m&to=\(to)").body
        }
        let before = try #require(jsonObject(first)?["candles"] as? [[String: Any]])
        #expect(before.count >= 3)
        let to = (before.last!["start"] as! NSNumber).intValue
        // A new node on the same Redis, nothing subscribed: the same candles.
        let second: String = try await withNode(["REDIS_URL": server.url]) { port, _ in
            // The node listens before its Redis connection is up (history answers 503 until then).
            let path = "/v1/klines?symbol=BTCUSDT&interval=1m&to=\(to)"
            #expect(await eventually { (try? await httpGet(port: port, path))?.status == 200 })
            return try await httpGet(port: port, path).body
        }
        let after = try #require(jsonObject(second)?["candles"] as? [[String: Any]])
        #expect(after.count == before.count)
        #expect(zip(before, after).allSatisfy { Self.same($0, $1) })
    }
}
