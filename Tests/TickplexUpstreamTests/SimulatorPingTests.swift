import Foundation
import HummingbirdWSClient
import Logging
import Testing
import TickplexModel
import TickplexSimulator
import TickplexUpstream

@Suite("Simulated Binance pings")
struct SimulatorPingTests {
    @Test("the pool answers ping frames with the same payload and stays connected")
    func answered() async throws {
        var config = ExchangeSimulator.Configuration()
        // 1.25 pings a second (Binance pings every 20 s): the pongs stay well inside the 5 messages per second that
        // every frame we send shares.
        config.pingSeconds = 0.8
        // 10 s (Binance allows a minute): a 3 s timeout was missed twice in CI, the whole batch running on two cores.
        config.pongTimeoutSeconds = 10
        let sim = try await ExchangeSimulator.start(config)
        let log = NoticeLog()
        let pool = makePool(.binanceSpot, sim: sim, log: log)
        _ = await pool.ensureSubscribed(.trade("BTCUSDT", .binanceSpot))
        // Any connection: under CI load a first connect once timed out before its upgrade and was retried, so the
        // first connection the simulator saw was not the one that stayed.
        #expect(
            await eventually(timeout: .seconds(25)) {
                await sim.connections().contains { $0.pingFramesSent >= 8 }
            })
        let connections = await sim.connections()
        let pinged = connections.first { $0.pingFramesSent >= 8 }
        #expect(pinged?.open == true, "never closed for a missing pong")
        #expect((pinged?.pongsReceived ?? 0) >= 5)
        #expect(connections.allSatisfy { $0.closeCode != 1008 }, "no connection was closed for a missing pong")
        await pool.stopAll()
        await sim.stop()
    }

    @Test("a client that never answers pings is closed (1008) after the pong timeout")
    func unanswered() async throws {
        var config = ExchangeSimulator.Configuration()
        config.pingSeconds = 0.2
        config.pongTimeoutSeconds = 0.5
        let sim = try await ExchangeSimulator.start(config)
        var logger = Logger(label: "silent")
        logger.logLevel = .critical
        // swift-websocket answers pings while the handler reads its inbound stream; this handler never reads,
        // so the simulator's pings go unanswered.
        let started = ContinuousClock.now
        let task = Task {
            try await WebSocketClient.connect(
                url: sim.baseURL + "/ws/btcusdt@trade", configuration: .init(), logger: logger
            ) { _, _, _ in
                try await Task.sleep(for: .seconds(5))
            }
        }
        #expect(
            await eventually(timeout: .seconds(8)) {
                await sim.connections().first.map { !$0.open } ?? false
            })
        #expect(await sim.connections().first?.closeCode == 1008)
        // Generous: the point is that it is closed for the missing pong, not how fast a loaded machine gets there.
        #expect(ContinuousClock.now - started < .seconds(8))
        task.cancel()
        await sim.stop()
    }
}
