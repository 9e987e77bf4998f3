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

@Suite("Deduplication across a switch (pure)")
struct EventDeduplicatorTests {
    static func trade(_ id: Int) -> MarketEvent {
        MarketEvent(
            key: .trade("BTCUSDT", .binanceSpot), exchangeTime: 1,
            payload: .trades([Trade(id: String(id), price: "1", size: "1", side: .buy, time: 1, isBlockTrade: false)]))
    }

    @Test("trades by id and books by update id, always; other events by exchange time only during a switch")
    func rules() {
        var d = EventDeduplicator()
        let kline = MarketEvent(
            key: .kline(.m1, "BTCUSDT", .binanceSpot), exchangeTime: 100,
            payload: .klines([
                Candle(
                    interval: .m1, start: 0, end: 59_999, open: "1", high: "1", low: "1", close: "1", volume: "0",
                    turnover: "0", closed: false)
            ]))
        var seen: [Bool] = []
        for id in [5, 5, 4, 6] { seen.append(d.isNew(topic: "t", Self.trade(id))) }
        seen.append(d.isNew(topic: "other", Self.trade(1)))
        #expect(seen == [true, false, false, true, true], "trade ids, per topic")
        let outside = [d.isNew(topic: "k", kline), d.isNew(topic: "k", kline)]
        #expect(outside == [true, true], "outside a switch: every kline passes")
        d.switches = 1
        let during = [d.isNew(topic: "k2", kline), d.isNew(topic: "k2", kline)]
        #expect(during == [true, false], "during a switch: the same exchange time is a duplicate")
        d.forget(topic: "t")
        let again = d.isNew(topic: "t", Self.trade(1))
        #expect(again, "forgotten with its topic")
    }
}
