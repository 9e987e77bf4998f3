import Testing
import TickplexConfig
import TickplexModel
import TickplexServer

/// The node does not start the simulator; it is handed endpoints, and simulated ones only with UPSTREAM=sim.
@Suite("Upstream endpoints: simulated prices never pass for real ones")
struct UpstreamEndpointsTests {
    @Test("UPSTREAM=sim without a simulator's endpoints, or a simulator's under UPSTREAM=exchange: refused at start")
    func mismatchRefused() async throws {
        let sim = try ConfigLoader.parse(["UPSTREAM": "sim", "PORT": "0"])
        await #expect(throws: ConfigError.self) {
            _ = try await TickplexNode.start(config: sim, logger: quietLogger)
        }
        let exchange = try ConfigLoader.parse(["UPSTREAM": "exchange", "PORT": "0"])
        let simulated = try #require(UpstreamEndpoints.simulator(base: "ws://127.0.0.1:9"))
        await #expect(throws: ConfigError.self) {
            _ = try await TickplexNode.start(config: exchange, logger: quietLogger, endpoints: simulated)
        }
    }

    @Test("a simulator's endpoints: each venue at its path, marked simulated; the exchanges' from the configuration")
    func shapes() throws {
        let simulated = try #require(UpstreamEndpoints.simulator(base: "ws://127.0.0.1:4000"))
        #expect(simulated.simulated && simulated.simulatorBase == "ws://127.0.0.1:4000")
        #expect(simulated.urls[.bybitLinear]?.description == "ws://127.0.0.1:4000/v5/public/linear")
        #expect(simulated.urls[.binanceUSDM]?.description == "ws://127.0.0.1:4000/usdm")
        #expect(simulated.urls.count == Venue.allCases.count)
        let config = try ConfigLoader.parse(["BYBIT_WS_URL_SPOT": "wss://stream-testnet.bybit.com/v5/public/spot"])
        let real = UpstreamEndpoints.exchanges(config)
        #expect(!real.simulated)
        #expect(real.urls[.bybitSpot]?.host == "stream-testnet.bybit.com")
        #expect(UpstreamEndpoints.simulator(base: "http://nope") == nil)
    }
}
