import Foundation
import HTTPTypes
import NIOCore
import Testing
import TickplexBus
import TickplexConfig
import TickplexModel
import TickplexServer
import TickplexSimulator
import TickplexTestSupport

/// Timing-sensitive (QUOTE_WAIT_MS, the linger): Scripts/test runs this suite on its own.
@Suite("GET /v1/quote/{symbol}: never stale, on demand, with the exchange's refusals", .serialized)
struct QuoteTests {
    @Test(
        "fresh → 200 with ageMs and the ticker fields at top level; HEAD; bad venue 400; POST 405",
        arguments: BusMode.allCases)
    func fresh(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim"]) { port, node in
            // BTCUSDT is a warm demo ticker.
            #expect(await eventually { (try? await httpGet(port: port, "/v1/quote/BTCUSDT"))?.status == 200 })
            let (status, body) = try await httpGet(port: port, "/v1/quote/btcusdt?venue=bybit.linear")
            #expect(status == 200)
            let q = try #require(jsonObject(body))
            #expect(q["symbol"] as? String == "BTCUSDT" && q["venue"] as? String == "bybit.linear")
            #expect(q["stream"] as? String == "tickplex.bybit.linear.ticker.BTCUSDT")
            #expect(q["price"] is String && (q["bid"] as? [String: Any])?["price"] is String, "decimal strings")
            #expect((q["ts"] as? NSNumber) != nil)
            let age = try #require((q["ageMs"] as? NSNumber)?.intValue)
            #expect(age >= 0 && age <= node.config.quoteMaxAgeMs)
            // The same fields the stream carries.
            let stored = try #require(try await node.store.get("tickplex:last:tickplex.bybit.linear.ticker.BTCUSDT"))
            let data = try #require(jsonObject(String(buffer: stored.value))?["data"] as? [String: Any])
            #expect(Set(data.keys).isSubset(of: Set(q.keys)))

            let head = try await httpRequest(port: port, .head, "/v1/quote/BTCUSDT")
            #expect(head.status == 200 && head.body.isEmpty)
            let post = try await httpRequest(port: port, .post, "/v1/quote/BTCUSDT")
            #expect(post.status == 405 && post.headers[.allow] == "GET, HEAD")
            let bad = try await httpGet(port: port, "/v1/quote/BTCUSDT?venue=ftx")
            #expect(bad.status == 400)
            let err = try #require(jsonObject(bad.body))
            #expect(err["parameter"] as? String == "venue")
            #expect((err["venues"] as? [String])?.contains("binance.usdm") == true)
            #expect(try await httpGet(port: port, "/v1/quote/BTC$USDT").status == 400)
        }
    }

    @Test("the simulator stalls past QUOTE_MAX_AGE_MS → 503 stale with ageMs", arguments: BusMode.allCases)
    func stale(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim", "QUOTE_MAX_AGE_MS": "800"]) { port, node in
            #expect(await eventually { (try? await httpGet(port: port, "/v1/quote/ETHUSDT"))?.status == 200 })
            await node.simulator!.stall()
            #expect(
                await eventually(timeout: .seconds(5)) {
                    (try? await httpGet(port: port, "/v1/quote/ETHUSDT"))?.status == 503
                })
            let body = try #require(jsonObject(try await httpGet(port: port, "/v1/quote/ETHUSDT").body))
            #expect(body["error"] as? String == "stale")
            #expect(((body["ageMs"] as? NSNumber)?.intValue ?? 0) > 800)
        }
    }

    @Test(
        "a symbol nobody streams: subscribed on demand, answered within QUOTE_WAIT_MS, released after the linger; unknown → 404",
        arguments: BusMode.allCases)
    func onDemand(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim", "UPSTREAM_LINGER_S": "3", "QUOTE_WAIT_MS": "3000"]) {
            port, node in
            let sim = node.simulator!
            let started = ContinuousClock.now
            let (status, body) = try await httpGet(port: port, "/v1/quote/XRPUSDT")
            #expect(status == 200, "\(body)")
            #expect(ContinuousClock.now - started < .milliseconds(3000))
            #expect(await sim.openConnections().flatMap(\.subscribed).contains("tickers.XRPUSDT"))
            // Kept warm while asked: a second quote within the linger reuses the subscription.
            try await Task.sleep(for: .seconds(1))
            #expect(try await httpGet(port: port, "/v1/quote/XRPUSDT").status == 200)
            let asked = ContinuousClock.now
            let unsubscribed: @Sendable () async -> Bool = {
                await sim.connections().contains { c in
                    c.requests.contains { $0.contains("unsubscribe") && $0.contains("tickers.XRPUSDT") }
                }
            }
            #expect(await !unsubscribed(), "warm while quotes keep coming")
            #expect(await eventually(timeout: .seconds(10)) { await unsubscribed() }, "released after the linger")
            #expect(ContinuousClock.now - asked >= .seconds(3))

            try await listOnlyInCatalogue("NOTASYMBOL", on: .bybitLinear, node: node)
            let unknown = try await httpGet(port: port, "/v1/quote/NOTASYMBOL")
            #expect(unknown.status == 404)
            let err = try #require(jsonObject(unknown.body))
            #expect(
                err["reason"] as? String == "error:handler not found,topic:tickers.NOTASYMBOL", "the exchange's words")
            // Asked again: answered from the recent refusal, without asking the exchange again.
            let asks: @Sendable () async -> Int = {
                await sim.connections().flatMap(\.requests).filter {
                    $0.contains(#""op":"subscribe""#) && $0.contains("tickers.NOTASYMBOL")
                }.count
            }
            let before = await asks()
            #expect(before >= 1)
            #expect(try await httpGet(port: port, "/v1/quote/NOTASYMBOL").status == 404)
            try await Task.sleep(for: .milliseconds(200))
            #expect(await asks() == before)
        }
    }
}
