import Foundation
import Testing
import TickplexTestSupport

@Suite("GET /stats")
struct StatsTests {
    @Test(
        "clients, subscriptions, streams, upstreams, message rates and totals move with traffic",
        arguments: BusMode.allCases)
    func stats(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim"]) { port, _ in
            func stats() async throws -> [String: Any] {
                try #require(jsonObject(try await httpGet(port: port, "/stats").body))
            }
            let idle = try await stats()
            #expect(idle["clients"] as? Int == 0 && idle["simulated"] as? Bool == true)
            #expect(idle["version"] as? String != nil && idle["uptimeSeconds"] as? Int != nil)
            #expect(idle["bus"] as? String == (bus == .redis ? "redis" : "in-process"))
            #expect((idle["redis"] != nil && !(idle["redis"] is NSNull)) == (bus == .redis))
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["trade:BTCUSDT","ticker:ETHUSDT"]}"#)
            #expect(await eventually { c.data(for: "tickplex.bybit.linear.trade.BTCUSDT").count >= 5 })
            try await Task.sleep(for: .milliseconds(1200))
            let busy = try await stats()
            #expect(busy["clients"] as? Int == 1 && busy["subscriptions"] as? Int == 2 && busy["streams"] as? Int == 2)
            let m = try #require(busy["messages"] as? [String: Any])
            #expect((m["inPerSecond"] as? Double ?? 0) > 0 && (m["outPerSecond"] as? Double ?? 0) > 0)
            #expect((m["outTotal"] as? Int ?? 0) >= 5)
            let linear = try #require((busy["upstreams"] as? [String: Any])?["bybit.linear"] as? [String: Any])
            #expect((linear["live"] as? Int ?? 0) >= 1)
            for k in ["conflated", "dropped", "slowConsumerCloses", "publishFailures"] {
                #expect(busy[k] as? Int != nil, "\(k)")
            }
            c.close()
        }
    }
}
