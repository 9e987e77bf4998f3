import Testing
import TickplexModel
import TickplexSimulator
import TickplexUpstream

/// Against the simulator, which serves each USD-M stream on its documented route only (silent elsewhere).
@Suite("Binance USD-M over the simulator: routed streams, a complete merged ticker")
struct USDMRoutingTests {
    @Test("ticker:BTCUSDT@binance.usdm: every field non-null, from three streams on /market and /public")
    func completeTicker() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.binanceUSDM, sim: sim, log: log)
        _ = await pool.ensureSubscribed(.ticker("BTCUSDT", .binanceUSDM))
        let complete: @Sendable () -> Ticker? = {
            for e in log.events.reversed() {
                guard case .ticker(let t) = e.payload else { continue }
                if t.price != nil, t.bid != nil, t.ask != nil, t.markPrice != nil, t.indexPrice != nil,
                    t.fundingRate != nil, t.nextFundingTime != nil, t.high24h != nil, t.volume24h != nil
                {
                    return t
                }
            }
            return nil
        }
        #expect(await eventually { complete() != nil }, "a ticker with every field set")
        #expect(log.events.allSatisfy { $0.key == .ticker("BTCUSDT", .binanceUSDM) }, "one client stream")
        let connections = await sim.openConnections()
        let market = connections.first { $0.path.hasPrefix("/usdm/market/") }
        let publicRoute = connections.first { $0.path.hasPrefix("/usdm/public/") }
        #expect(Set(market?.subscribed ?? []) == ["btcusdt@ticker", "btcusdt@markPrice@1s"])
        #expect(publicRoute?.subscribed == ["btcusdt@bookTicker"])
        await pool.stopAll()
        await sim.stop()
    }

    @Test("trade:X@binance.usdm rides /public; kline and liquidations ride /market; all deliver")
    func routedStreams() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.binanceUSDM, sim: sim, log: log)
        let keys: [StreamKey] = [
            .trade("ETHUSDT", .binanceUSDM), .kline(.m1, "ETHUSDT", .binanceUSDM),
            .liquidation("ETHUSDT", .binanceUSDM),
        ]
        for key in keys { _ = await pool.ensureSubscribed(key) }
        #expect(await eventually { Set(log.events.map(\.key)) == Set(keys) })
        let connections = await sim.openConnections()
        #expect(connections.first { $0.path.hasPrefix("/usdm/public/") }?.subscribed == ["ethusdt@trade"])
        await pool.stopAll()
        await sim.stop()
    }
}
