import Foundation
import Testing
import TickplexModel
import TickplexSimulator

@testable import TickplexUpstream

/// Binance ends every connection at 24 hours. Simulated with a 6 s lifetime and a 3 s replacement age: each
/// connection is replaced make-before-break, and the trades keep coming without a gap or a duplicate.
@Suite("The 24-hour cut, make-before-break")
struct RolloverTests {
    @Test("three switches: trade ids contiguous per symbol (no gap, no duplicate), never a cut by the exchange")
    func makeBeforeBreak() async throws {
        var config = ExchangeSimulator.Configuration()
        config.binanceConnectionLifetimeSeconds = 6
        let sim = try await ExchangeSimulator.start(config)
        let log = NoticeLog()
        var timing = UpstreamTiming()
        timing.binanceSessionLifetime = .seconds(3)
        let pool = makePool(.binanceSpot, sim: sim, log: log, timing: timing)
        for symbol in ["BTCUSDT", "ETHUSDT"] { _ = await pool.ensureSubscribed(.trade(symbol, .binanceSpot)) }
        #expect(await eventually(timeout: .seconds(20)) { await sim.connections().count >= 4 })
        try await Task.sleep(for: .seconds(1))
        for symbol in ["BTCUSDT", "ETHUSDT"] {
            let ids = log.events.filter { $0.key.symbol == symbol }.flatMap { e -> [Int64] in
                guard case .trades(let trades) = e.payload else { return [] }
                return trades.compactMap { Int64($0.id) }
            }
            #expect(ids.count > 50, "\(symbol): \(ids.count) trades")
            let steps = zip(ids.dropFirst(), ids).map { $0 - $1 }
            #expect(steps.allSatisfy { $0 == 1 }, "\(symbol): ids step by \(Set(steps).sorted()) across the switches")
        }
        let connections = await sim.connections()
        #expect(!connections.contains { $0.closeCode == 1001 }, "no connection lived until the exchange's cut")
        #expect(!log.all.contains { if case .status(_, _, "reconnecting") = $0 { true } else { false } })
        await pool.stopAll()
        await sim.stop()
    }
}
