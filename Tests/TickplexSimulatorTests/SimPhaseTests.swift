import Foundation
import NIOCore
import NIOPosix
import Testing
import TickplexLoad
import TickplexSimulator

/// The benchmark mode of the simulator: each topic at its own phase, the configured rate kept by the clock, and the
/// W4 burst on top.
@Suite("Simulator: phased topics, rate by the clock, bursts")
struct SimPhaseTests {
    @Test("100 synthetic tickers spread over the ten slots; a topic keeps its slot")
    func phases() {
        let topics = ExchangeSimulator.syntheticPrices(100).keys.map { "tickers." + $0 }
        var perSlot = Array(repeating: 0, count: SimPhase.slots)
        for topic in topics { perSlot[SimPhase.of(topic)] += 1 }
        #expect(perSlot.allSatisfy { $0 > 0 && $0 < 25 }, "topics per slot: \(perSlot)")
        #expect(topics.allSatisfy { SimPhase.of($0) == SimPhase.of($0) })
        #expect(ExchangeSimulator.syntheticPrices(3).keys.sorted() == ["T001USDT", "T002USDT", "T003USDT"])
    }

    @Test("randomPhase at 20 frames/s: two topics get ~20 frames a second each; a burst adds its frames")
    func rateAndBurst() async throws {
        var config = ExchangeSimulator.Configuration()
        config.framesPerSecond = 20
        config.randomPhase = true
        let sim = try await ExchangeSimulator.start(config)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let recorder = LoadRecorder()
        // Bybit's subscribe has the wire contract's shape: the load client speaks it as it is.
        let port = try #require(URL(string: sim.baseURL)?.port)
        let channel = try await LoadConnection.connect(
            port: port, path: "/v5/public/linear", arguments: ["tickers.BTCUSDT", "tickers.ETHUSDT"], parse: false,
            recorder: recorder, group: group)
        try await Task.sleep(for: .seconds(1))
        recorder.startWindow()
        try await Task.sleep(for: .seconds(2))
        // Bybit frames carry no `seq`: the load client counts them as "other".
        let steady = recorder.snapshot().other
        #expect((40...100).contains(steady), "\(steady) frames in 2 s for 2 topics at 20/s")
        recorder.startWindow()
        await sim.burst(frames: 100, seconds: 0.5)
        try await Task.sleep(for: .seconds(1))
        let withBurst = recorder.snapshot().other
        #expect((215...265).contains(withBurst), "\(withBurst) frames in 1 s with a 100-frame burst")
        try await channel.close()
        try await group.shutdownGracefully()
        await sim.stop()
    }
}
