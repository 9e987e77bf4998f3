import Foundation
import NIOCore
import Testing
import TickplexBus
import TickplexModel
import TickplexServer
import TickplexSimulator
import TickplexTestSupport

@Suite("UPSTREAM=sim: the node runs against the in-process simulator")
struct SimModeTests {
    @Test("data flows from the simulator through the transformer into the last-value store; /health says simulated")
    func simMode() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            #expect(node.simulator != nil)
            let key = RedisKeyspace(brand: "tickplex").lastValue(.ticker("BTCUSDT"))
            #expect(await eventually { (try? await node.store.get(key)) != nil })
            let stored = try #require(try await node.store.get(key))
            let json = try #require(jsonObject(String(buffer: stored.value)))
            #expect(json["stream"] as? String == "tickplex.bybit.linear.ticker.BTCUSDT")
            #expect(json["source"] as? String == "tickplex")
            let data = try #require(json["data"] as? [String: Any])
            #expect((data["price"] as? String)?.isEmpty == false)
            #expect(await eventually { (try? await httpGet(port: port, "/health"))?.status == 200 })
            let health = try #require(jsonObject(try await httpGet(port: port, "/health").body))
            #expect(health["simulated"] as? Bool == true && health["upstream"] as? String == "sim")
            let upstreams = try #require(health["upstreams"] as? [String: Any])
            let linear = try #require(upstreams["bybit.linear"] as? [[String: Any]])
            #expect(linear.first?["state"] as? String == "live")
            #expect(node.publisher.published > 0)
        }
    }

    @Test("the simulator drops and refuses connections: /health turns degraded naming the upstream connection")
    func degradedWhenUpstreamDown() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            #expect(await eventually { (try? await httpGet(port: port, "/health"))?.status == 200 })
            await node.simulator!.dropAll()
            await node.simulator!.refuseConnections(for: .seconds(5))
            #expect(await eventually { (try? await httpGet(port: port, "/health"))?.status == 503 })
            let health = try #require(jsonObject(try await httpGet(port: port, "/health").body))
            let reasons = try #require(health["reasons"] as? [String])
            #expect(reasons.contains { $0.hasPrefix("upstream bybit.linear connection") })
        }
    }
}
