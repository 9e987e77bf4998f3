import Foundation
import Testing
import TickplexModel
import TickplexSimulator
import TickplexUpstream

@Suite("Binance upstream against the simulator over real WebSockets")
struct BinanceUpstreamTests {
    @Test("3,000 streams spread over at least 3 connections; no connection ever sends more than 5 messages/s")
    func threeThousandStreams() async throws {
        var config = ExchangeSimulator.Configuration()
        // Pings every second: the pongs count toward the 5/s budget too.
        config.pingSeconds = 1
        config.framesPerSecond = 2
        let sim = try await ExchangeSimulator.start(config)
        let log = NoticeLog()
        let pool = makePool(.binanceSpot, sim: sim, log: log)
        // 500 symbols × 6 stream kinds; the simulator has data only for its own symbols, like unknown symbols on
        // the real exchange (acknowledged, then silent).
        var keys: [StreamKey] = []
        for n in 0..<500 {
            let listed = SimMarket.defaultPrices.keys.filter { $0.allSatisfy { $0.isLetter || $0.isNumber } }.sorted()
            let symbol = n < 6 ? listed[n] : "SYM\(n)USDT"
            keys += [
                .ticker(symbol, .binanceSpot), .trade(symbol, .binanceSpot), .kline(.m1, symbol, .binanceSpot),
                .kline(.h1, symbol, .binanceSpot), .book(symbol, .binanceSpot), .book(symbol, depth: 5, .binanceSpot),
            ]
        }
        #expect(keys.count == 3000)
        for key in keys { _ = await pool.ensureSubscribed(key) }
        #expect(
            await eventually(timeout: .seconds(30)) {
                await sim.openConnections().map(\.subscribed.count).reduce(0, +) == 3000
            })
        let connections = await sim.connections()
        #expect(connections.count >= 3)
        #expect(connections.allSatisfy { $0.open && $0.closeCode == nil }, "the simulator closed none (1008)")
        #expect(connections.allSatisfy { $0.subscribed.count <= 1024 })
        for c in connections {
            #expect(
                c.maxInboundPerSecond <= 5, "connection \(c.id) sent \(c.maxInboundPerSecond) messages in one second")
        }
        // Pongs were answered (the simulator pinged every second) and counted within the budget.
        try await Task.sleep(for: .seconds(2))
        #expect(await sim.connections().allSatisfy { $0.pongsReceived > 0 })
        #expect(await eventually { log.events.contains { $0.key.kind == .book && $0.key.depth == 5 } })
        await pool.stopAll()
        await sim.stop()
    }

    @Test("a refused stream comes back with Binance's error words")
    func invalidStream() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.binanceSpot, sim: sim, log: log)
        _ = await pool.ensureSubscribed(.trade("BTCUSDT", .binanceSpot))
        #expect(await eventually { !log.events.isEmpty })
        // A symbol with a character Binance stream names cannot carry.
        let bad = StreamKey.trade("BTC-USDT!", .binanceSpot)
        _ = await pool.ensureSubscribed(bad)
        #expect(await eventually { !log.rejections.isEmpty })
        #expect(log.rejections.first?.0 == bad)
        #expect(log.rejections.first?.1 == "code 2: Invalid request: invalid stream")
        await pool.stopAll()
        await sim.stop()
    }
}
