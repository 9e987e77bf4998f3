import Foundation
import Testing
import TickplexModel
import TickplexSimulator
import TickplexUpstream

/// No silent dead stream: every upstream connection has a heartbeat and a silence watchdog, checked against the
/// simulator over real WebSockets with the production timings.
@Suite("Upstream liveness: heartbeats on the wire, dead paths replaced")
struct UpstreamLivenessTests {
    @Test("Bybit: JSON pings 20 s apart (±2 s) over a minute, on one connection that stays up")
    func bybitCadence() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log)
        _ = await pool.ensureSubscribed(.ticker("BTCUSDT"))
        #expect(
            await eventually(timeout: .seconds(75)) {
                (await sim.connections().first?.clientPingTimes.count ?? 0) >= 3
            })
        let connections = await sim.connections()
        #expect(connections.count == 1 && connections[0].open)
        let times = connections.first?.clientPingTimes ?? []
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(gaps.count >= 2)
        #expect(gaps.allSatisfy { (18_000...22_000).contains($0) }, "gaps between pings (ms): \(gaps)")
        await pool.stopAll()
        await sim.stop()
    }

    @Test("Binance: our own ping frames every 10 s, answered by the exchange, inside 5 messages per second")
    func binancePings() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.binanceSpot, sim: sim, log: log)
        _ = await pool.ensureSubscribed(.trade("BTCUSDT", .binanceSpot))
        #expect(
            await eventually(timeout: .seconds(30)) {
                (await sim.connections().first?.clientPingTimes.count ?? 0) >= 2
            })
        let connection = try #require(await sim.connections().first)
        let gaps = zip(connection.clientPingTimes.dropFirst(), connection.clientPingTimes).map { $0 - $1 }
        #expect(gaps.allSatisfy { (8_000...12_000).contains($0) }, "gaps between ping frames (ms): \(gaps)")
        #expect(connection.open && connection.maxInboundPerSecond <= 5)
        await pool.stopAll()
        await sim.stop()
    }

    @Test(
        "a Binance connection that goes silent (stall: no data, no pong) is replaced; its streams flow again within 30 s",
        arguments: [Venue.binanceSpot, .binanceUSDM])
    func binanceStall(venue: Venue) async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(venue, sim: sim, log: log)
        let keys: [StreamKey] = [.trade("BTCUSDT", venue), .ticker("ETHUSDT", venue)]
        for key in keys { _ = await pool.ensureSubscribed(key) }
        #expect(await eventually { Set(log.events.map(\.key)) == Set(keys) })
        // USD-M routes streams over two paths, hence two connections; every one of them is replaced.
        let initial = await sim.openConnections().count
        await sim.stall()
        let stalledAt = ContinuousClock.now
        let before = log.events.count
        #expect(
            await eventually(timeout: .seconds(32)) {
                let fresh = log.events.dropFirst(before)
                let open = await sim.openConnections().count
                let all = await sim.connections().count
                return open == initial && all == 2 * initial && Set(fresh.map(\.key)) == Set(keys)
            })
        #expect(
            ContinuousClock.now - stalledAt < .seconds(30), "flowing again after \(ContinuousClock.now - stalledAt)")
        #expect(log.all.contains(.status(venue: venue, connection: 1, state: "reconnecting")))
        #expect(log.all.filter { $0 == .status(venue: venue, connection: 1, state: "live") }.count == 2)
        #expect(log.all.filter { if case .status(venue, _, "live") = $0 { true } else { false } }.count == 2 * initial)
        await pool.stopAll()
        await sim.stop()
    }
}
