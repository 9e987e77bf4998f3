import Foundation
import Testing
import TickplexModel
import TickplexSimulator
import TickplexTestSupport
import TickplexUpstream

@Suite("Simulator replay of a recorded file")
struct ReplayTests {
    @Test("the recorded linear tickers replayed through the simulator reach the pool with the recorded values")
    func replayTickers() async throws {
        let samples = ExchangeFixtures.root
        var config = ExchangeSimulator.Configuration()
        let topics = try config.loadReplay(
            contentsOf: samples.appendingPathComponent("bybit/tickers_linear.jsonl").path)
        #expect(topics.contains("tickers.BTCUSDT"))
        config.framesPerSecond = 50
        let sim = try await ExchangeSimulator.start(config)
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log)
        let key = StreamKey.ticker("BTCUSDT")
        _ = await pool.ensureSubscribed(key)
        #expect(await eventually { log.events(for: key).count >= 10 })
        guard case .ticker(let first) = log.events(for: key).first?.payload else { return }
        // Line 1 of the recording, field for field.
        #expect(
            first.price == "65114.30" && first.markPrice == "65117.44"
                && first.bid == PriceLevel(price: "65114.20", size: "5.954"))
        #expect(log.events(for: key).first?.exchangeTime == 1_786_310_817_583)
        await pool.stopAll()
        await sim.stop()
    }
}
