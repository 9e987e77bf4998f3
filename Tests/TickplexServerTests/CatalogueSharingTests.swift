import Foundation
import Testing
import TickplexModel
import TickplexServer
import TickplexSimulator
import TickplexTestSupport
import TickplexUpstream

/// Several nodes on one Redis load the catalogue once: the others take the list it stored.
@Suite("Instrument catalogue shared through Redis")
struct CatalogueSharingTests {
    @Test("a second node on the same Redis takes the stored lists: not one catalogue request to its exchange")
    func secondNodeReadsRedis() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let env = ["UPSTREAM": "sim", "REDIS_URL": server.url]
        try await withNode(env) { _, first in
            #expect(await eventually { catalogueLoaded(first) })
            try await withNode(env) { port, second in
                #expect(await eventually { catalogueLoaded(second) })
                let sim = try #require(second.simulator)
                let paths = await sim.restCounters().byPath
                #expect(paths["/v5/market/instruments-info"] == nil && paths["/api/v3/exchangeInfo"] == nil, "\(paths)")
                #expect(
                    second.catalogue.snapshot[.bybitLinear]?.symbols == first.catalogue.snapshot[.bybitLinear]?.symbols)
                // And it refuses an unlisted symbol from the shared list.
                let (status, _) = try await httpGet(port: port, "/v1/quote/NOPEUSDT")
                #expect(status == 404)
            }
        }
        let stored = try runTool("redis-cli", ["-p", "\(server.port)", "GET", "tickplex:catalogue:binance.spot"])
        #expect(stored.contains(#""symbols":["#) && stored.contains("BTCUSDT"))
    }
}
