import Foundation
import Testing
import TickplexModel
import TickplexSimulator
import TickplexUpstream

@Suite("Upstream faults: drops, malformed frames, refused connections")
struct UpstreamFaultTests {
    /// Fast reconnects so the tests stay short; the production backoff is 1 s → 60 s.
    var fastTiming: UpstreamTiming {
        var t = UpstreamTiming()
        t.backoff = Backoff(initial: .milliseconds(100), maximum: .milliseconds(400))
        t.handshakeTimeout = .seconds(5)
        return t
    }

    @Test("all connections dropped: status reconnecting then live, every topic resubscribed, data resumes")
    func dropAll() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log, timing: fastTiming)
        let keys: [StreamKey] = [.ticker("BTCUSDT"), .trade("ETHUSDT")]
        for key in keys { _ = await pool.ensureSubscribed(key) }
        #expect(await eventually { Set(log.events.map(\.key)) == Set(keys) })
        await sim.dropAll()
        #expect(
            await eventually { log.all.contains(.status(venue: .bybitLinear, connection: 1, state: "reconnecting")) })
        #expect(
            await eventually {
                log.all.filter { $0 == .status(venue: .bybitLinear, connection: 1, state: "live") }.count == 2
            })
        let before = log.events.count
        #expect(await eventually { log.events.count > before + 5 })
        let fresh = try #require(await sim.openConnections().first)
        #expect(
            bybitSubscribeArgs(fresh.requests).flatMap { $0 }.sorted() == ["publicTrade.ETHUSDT", "tickers.BTCUSDT"])
        // A reconnect restarts the ticker from a snapshot: the merged state is whole again.
        guard case .ticker(let t) = log.events(for: .ticker("BTCUSDT")).last?.payload else { return }
        #expect(t.openInterest == "59891.732")
        await pool.stopAll()
        await sim.stop()
    }

    @Test("a malformed frame is skipped and the stream goes on")
    func malformed() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log, timing: fastTiming)
        _ = await pool.ensureSubscribed(.trade("BTCUSDT"))
        #expect(await eventually { log.events.count > 2 })
        await sim.sendMalformedFrame()
        let before = log.events.count
        #expect(await eventually { log.events.count > before + 5 })
        #expect(await sim.connections().count == 1, "no reconnect for one bad frame")
        await pool.stopAll()
        await sim.stop()
    }

    @Test(
        "an exchange flooding a never-finished message with empty fragments: the connection is replaced, data resumes")
    func fragmentFlood() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log, timing: fastTiming)
        _ = await pool.ensureSubscribed(.trade("BTCUSDT"))
        #expect(await eventually { log.events.count > 2 })
        await sim.sendFragmentFlood(count: 100_000)
        #expect(
            await eventually { log.all.contains(.status(venue: .bybitLinear, connection: 1, state: "reconnecting")) })
        let before = log.events.count
        #expect(await eventually { log.events.count > before + 5 }, "a new connection carries the stream")
        #expect(await sim.connections().count == 2)
        await pool.stopAll()
        await sim.stop()
    }

    @Test("recvTs is the frame's arrival: every event carries when its frame came in")
    func arrivalTime() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log, timing: fastTiming)
        let started = Int64(Date().timeIntervalSince1970 * 1000)
        _ = await pool.ensureSubscribed(.trade("BTCUSDT"))
        #expect(await eventually { log.events.count > 5 })
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(log.events.allSatisfy { $0.receivedAt >= started && $0.receivedAt <= now })
        await pool.stopAll()
        await sim.stop()
    }

    @Test("new connections refused for a while: retried with backoff until accepted")
    func refused() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitSpot, sim: sim, log: log, timing: fastTiming)
        await sim.refuseConnections(for: .seconds(1))
        let started = ContinuousClock.now
        _ = await pool.ensureSubscribed(.trade("BTCUSDT", .bybitSpot))
        #expect(await eventually { !log.events.isEmpty })
        #expect(ContinuousClock.now - started >= .milliseconds(900), "no data while refused")
        await pool.stopAll()
        await sim.stop()
    }

    @Test("the last subscriber leaves: the upstream unsubscribe waits for the linger")
    func linger() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log, timing: fastTiming, linger: .milliseconds(800))
        let key = StreamKey.ticker("ETHUSDT")
        _ = await pool.ensureSubscribed(key)
        #expect(await eventually { !log.events.isEmpty })
        await pool.release(key)
        let released = ContinuousClock.now
        await pool.expireLingering()
        try await Task.sleep(for: .milliseconds(300))
        #expect(
            await sim.openConnections().first?.subscribed == ["tickers.ETHUSDT"], "still subscribed during the linger")
        while ContinuousClock.now - released < .milliseconds(850) { try await Task.sleep(for: .milliseconds(50)) }
        await pool.expireLingering()
        #expect(
            await eventually {
                let all = await sim.connections()
                return all.contains {
                    $0.requests.contains(#"{"req_id":"2","op":"unsubscribe","args":["tickers.ETHUSDT"]}"#)
                }
            })
        await pool.stopAll()
        await sim.stop()
    }
}
