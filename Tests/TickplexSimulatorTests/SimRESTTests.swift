import Testing
import TickplexModel
import TickplexSimulator

/// The simulator's REST side: the exchanges' shapes and limits, so that the proxy's REST client is tested against
/// something that refuses as they do.
@Suite("Simulated exchange REST: catalogue shapes, pages, weight, 429 then 418")
struct SimRESTTests {
    static func ask(_ rest: inout SimREST, path: String, query: [String: String], now: Int64) -> SimREST.Response? {
        rest.handle(path: path, query: query, now: now)
    }

    @Test("Bybit instruments-info: linear in cursor pages, spot in one; an unknown category is retCode 10001")
    func bybitPages() throws {
        var rest = SimREST(symbols: ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BTC-26DEC25"])
        let first = try #require(
            Self.ask(&rest, path: "/v5/market/instruments-info", query: ["category": "linear", "limit": "2"], now: 0))
        #expect(first.status == 200 && first.body.contains(#""nextPageCursor":"p2""#))
        let second = try #require(
            Self.ask(
                &rest, path: "/v5/market/instruments-info",
                query: ["category": "linear", "limit": "2", "cursor": "p2"], now: 1))
        #expect(second.body.contains(#""nextPageCursor":"""#) && second.body.contains("SOLUSDT"))
        let spot = try #require(
            Self.ask(&rest, path: "/v5/market/instruments-info", query: ["category": "spot"], now: 2))
        #expect(!spot.body.contains("nextPageCursor") && !spot.body.contains("BTC-26DEC25"))
        let bad = try #require(Self.ask(&rest, path: "/v5/market/instruments-info", query: ["category": "x"], now: 3))
        #expect(bad.status == 200 && bad.body.contains(#""retCode":10001"#))
    }

    @Test(
        "Binance: weight counted per minute in X-MBX-USED-WEIGHT-1M; past the limit 429 with Retry-After; ignoring it, 418"
    )
    func binanceLimits() throws {
        var limits = SimREST.Limits()
        limits.binanceWeightPerMinute = 45
        var rest = SimREST(symbols: ["BTCUSDT"], limits: limits)
        let ok = try #require(Self.ask(&rest, path: "/api/v3/exchangeInfo", query: [:], now: 60_000))
        #expect(ok.status == 200 && ok.headers.contains { $0.0 == "X-MBX-USED-WEIGHT-1M" && $0.1 == "20" })
        _ = rest.handle(path: "/api/v3/exchangeInfo", query: [:], now: 60_001)
        let over = try #require(Self.ask(&rest, path: "/api/v3/exchangeInfo", query: [:], now: 70_000))
        #expect(over.status == 429 && over.headers.contains { $0.0 == "Retry-After" && $0.1 == "50" })
        // USD-M is another host with its own budget.
        #expect(Self.ask(&rest, path: "/fapi/v1/exchangeInfo", query: [:], now: 70_000)?.status == 200)
        var last = 0
        for i in 0..<3 { last = rest.handle(path: "/api/v3/ping", query: [:], now: 71_000 + Int64(i))?.status ?? 0 }
        #expect(last == 418, "a client that does not back off is banned")
        #expect(rest.counters.banned >= 1 && rest.counters.tooManyRequests >= 3)
    }

    @Test("a newly listed symbol appears in the next answer; a closed one leaves the Trading list")
    func listing() throws {
        var rest = SimREST(symbols: ["BTCUSDT"])
        rest.list("NEWUSDT", on: .binanceSpot)
        #expect(
            try #require(Self.ask(&rest, path: "/api/v3/exchangeInfo", query: [:], now: 0)).body.contains("NEWUSDT"))
        rest.list("BTCUSDT", on: .bybitLinear, status: "Closed")
        let linear = try #require(
            Self.ask(&rest, path: "/v5/market/instruments-info", query: ["category": "linear"], now: 1))
        #expect(!linear.body.contains("BTCUSDT"))
    }
}
