import Logging
import Testing
import TickplexModel
import TickplexSimulator
import TickplexUpstream

/// The REST client against the simulator's REST over real HTTP on loopback.
@Suite("Exchange REST client: limits honoured over real HTTP")
struct RESTClientTests {
    @Test("a 429 from the exchange is honoured: no further request until Retry-After, so never a 418")
    func honours429() async throws {
        var config = ExchangeSimulator.Configuration()
        config.restLimits.binanceWeightPerMinute = 30
        config.restLimits.binanceRequestsDuring429BeforeBan = 1
        let sim = try await ExchangeSimulator.start(config)
        // The client assumes Binance's usual 6,000 per minute: only the exchange's 429 can stop it.
        let client = ExchangeRESTClient(
            name: "binance.spot", baseURL: sim.restBaseURL, budget: .binance(limit: 6000), logger: quietLogger)
        let first = try await client.get("/api/v3/exchangeInfo", weight: 20)
        #expect(first.status == 200 && first.body.contains(#""symbol":"BTCUSDT""#))
        let second = try await client.get("/api/v3/exchangeInfo", weight: 20)
        #expect(second.status == 429)
        // Asked again at once: the client waits instead of asking (here it gives up after 200 ms).
        await #expect(throws: RESTError.self) {
            _ = try await client.get("/api/v3/ping", weight: 1, maxWait: .milliseconds(200))
        }
        let seen = await sim.restCounters()
        #expect(seen.requests == 2, "the third request never reached the exchange")
        #expect(seen.banned == 0, "never a 418")
        let counters = await client.counters
        #expect(counters.refusals["429"] == 1 && counters.requests == 2 && counters.exchangeUsedWeight == 40)
        await sim.stop()
    }

    @Test("a host that refuses connections: a clear error naming the host and path, counted")
    func unreachable() async throws {
        let client = ExchangeRESTClient(
            name: "bybit", baseURL: "http://127.0.0.1:9", budget: .bybit(), timeout: .seconds(2),
            logger: quietLogger)
        await #expect {
            _ = try await client.get("/v5/market/instruments-info", query: [("category", "linear")])
        } throws: { error in
            "\(error)".contains("bybit REST: GET /v5/market/instruments-info failed")
        }
        #expect(await client.counters.refusals["error"] == 1)
    }
}
