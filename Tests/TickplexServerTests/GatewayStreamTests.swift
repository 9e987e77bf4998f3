import Foundation
import Synchronization
import Testing
import TickplexModel
import TickplexSimulator
import TickplexTestSupport

@Suite("Gateway: streams, limits and upstream events end to end (UPSTREAM=sim, both bus modes)")
struct GatewayStreamTests {
    @Test(
        "kline:1m and kline:1h are separate streams upstream and downstream; unsubscribing one keeps the other",
        arguments: BusMode.allCases)
    func klineIntervals(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim"]) { port, node in
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["kline:1m:BTCUSDT","kline:1h:BTCUSDT"]}"#)
            let m1 = "tickplex.bybit.linear.kline.1m.BTCUSDT"
            let h1 = "tickplex.bybit.linear.kline.1h.BTCUSDT"
            #expect(await eventually { c.data(for: m1).count >= 3 && c.data(for: h1).count >= 3 })
            #expect(c.data(for: m1).allSatisfy { ($0["data"] as? [String: Any])?["interval"] as? String == "1m" })
            #expect(c.data(for: h1).allSatisfy { ($0["data"] as? [String: Any])?["interval"] as? String == "1h" })
            let subscribed = await node.simulator!.openConnections().flatMap(\.subscribed)
            #expect(subscribed.contains("kline.1.BTCUSDT") && subscribed.contains("kline.60.BTCUSDT"))
            c.send(#"{"op":"unsubscribe","args":["kline:1m:BTCUSDT"]}"#)
            #expect(await eventually { !c.replies("unsubscribe").isEmpty })
            try await Task.sleep(for: .milliseconds(300))
            let m1Count = c.data(for: m1).count
            let h1Count = c.data(for: h1).count
            #expect(await eventually { c.data(for: h1).count >= h1Count + 3 })
            #expect(c.data(for: m1).count == m1Count, "no more 1m candles after unsubscribing")
            c.close()
        }
    }

    @Test(
        "a frame over MAX_CLIENT_FRAME_BYTES closes that client with 1009; the others keep their data",
        arguments: BusMode.allCases)
    func frameLimit(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim", "MAX_CLIENT_FRAME_BYTES": "1024"]) { port, _ in
            let good = WireClient(port: port)
            let bad = WireClient(port: port)
            good.send(#"{"op":"subscribe","args":["trade:BTCUSDT"]}"#)
            #expect(await eventually { good.data(for: "tickplex.bybit.linear.trade.BTCUSDT").count >= 2 })
            bad.send(#"{"op":"ping","pad":""# + String(repeating: "x", count: 4096) + #""}"#)
            #expect(await eventually { bad.box.closeCode.withLock { $0 } == 1009 })
            let before = good.data(for: "tickplex.bybit.linear.trade.BTCUSDT").count
            #expect(await eventually { good.data(for: "tickplex.bybit.linear.trade.BTCUSDT").count > before + 2 })
            good.close()
        }
    }

    @Test(
        "the simulator drops the upstream: clients get status reconnecting then live, and data resumes",
        arguments: BusMode.allCases)
    func upstreamStatus(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim"]) { port, node in
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["trade:ETHUSDT"]}"#)
            let stream = "tickplex.bybit.linear.trade.ETHUSDT"
            #expect(await eventually { c.data(for: stream).count >= 2 })
            await node.simulator!.dropAll()
            #expect(
                await eventually(timeout: .seconds(10)) {
                    let states = c.replies("status").filter { $0["venue"] as? String == "bybit.linear" }
                        .compactMap { $0["state"] as? String }
                    return states.contains("reconnecting") && states.last == "live"
                })
            let before = c.data(for: stream).count
            #expect(await eventually { c.data(for: stream).count > before + 2 })
            c.close()
        }
    }
}
