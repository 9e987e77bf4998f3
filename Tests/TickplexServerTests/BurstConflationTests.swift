import Foundation
import Synchronization
import Testing
import TickplexServer
import TickplexSimulator
import TickplexTestSupport

/// A burst far larger than the event loops can write: the hub skips ticker passes that newer ones have overtaken
/// (every client ends on the newest state, in order, without the backlog), and never a trade.
@Suite("Burst: stale ticker passes conflated at the hub, trades never")
struct BurstConflationTests {
    static func seqs(_ client: WireClient, _ stream: String) -> [Int] {
        client.data(for: stream).compactMap { ($0["seq"] as? NSNumber)?.intValue }
    }

    @Test("3,000 frames in 0.3 s to 60 ticker clients and a trade client: tickers skip ahead, trades all arrive")
    func burst() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            let sim = try #require(node.simulator)
            let (ticker, trade) = ("tickplex.bybit.linear.ticker.BTCUSDT", "tickplex.bybit.linear.trade.BTCUSDT")
            let tickerClients = (0..<60).map { _ in WireClient(port: port) }
            for c in tickerClients { c.send(#"{"op":"subscribe","args":["ticker:BTCUSDT"]}"#) }
            let trader = WireClient(port: port)
            trader.send(#"{"op":"subscribe","args":["trade:BTCUSDT"]}"#)
            #expect(
                await eventually(timeout: .seconds(20)) {
                    tickerClients.allSatisfy { Self.seqs($0, ticker).count >= 2 } && !Self.seqs(trader, trade).isEmpty
                })
            let before = node.gatewayCounters
            let tradesBefore = Self.seqs(trader, trade).count
            await sim.burst(frames: 3000, seconds: 0.3)
            // Every frame of the burst reaches the trade client.
            #expect(
                await eventually(timeout: .seconds(60)) { Self.seqs(trader, trade).count >= tradesBefore + 3000 },
                "\(Self.seqs(trader, trade).count - tradesBefore) trade messages after the burst")
            try await Task.sleep(for: .seconds(1))
            let after = node.gatewayCounters
            #expect(after.conflated > before.conflated, "ticker passes were conflated")
            let tradeSeqs = Self.seqs(trader, trade)
            #expect(zip(tradeSeqs, tradeSeqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "trades: no gap, no duplicate")
            var skipped = 0
            for c in tickerClients {
                let s = Self.seqs(c, ticker)
                #expect(zip(s, s.dropFirst()).allSatisfy { $1 > $0 }, "ticker seqs only grow")
                skipped += zip(s, s.dropFirst()).map { $1 - $0 - 1 }.reduce(0, +)
            }
            #expect(skipped > 0, "conflation shows on the wire as skipped ticker seqs")
            // After the burst, every client is current: the newest ticker seq reaches all of them.
            let newest = tickerClients.compactMap { Self.seqs($0, ticker).last }.max() ?? 0
            #expect(
                await eventually(timeout: .seconds(10)) {
                    tickerClients.allSatisfy { (Self.seqs($0, ticker).last ?? 0) >= newest }
                })
            #expect(
                tickerClients.allSatisfy { $0.box.closeCode.withLock { $0 } == nil } && after.slowConsumerCloses == 0)
            for c in tickerClients + [trader] { c.close() }
        }
    }
}
