import Testing
import TickplexConfig
import TickplexModel
import TickplexSimulator
import TickplexUpstream

/// Binance books deeper than 20 levels over the simulator: its diff stream plus its REST snapshot, compared with
/// the book the simulated exchange itself holds.
@Suite("Binance book:100 and book:1000 from snapshot + diffs")
struct DeepBookTests {
    /// The last book event of `key` with the update id `u` or later.
    static func book(_ log: NoticeLog, _ key: StreamKey, atLeast u: Int64) -> Book? {
        for e in log.events.reversed() where e.key == key {
            if case .book(let b) = e.payload, b.updateId >= u { return b }
        }
        return nil
    }

    /// The book equals the exchange's best levels. A snapshot brings 1,000 levels a side; a diff that deletes one
    /// of them lets the exchange's 1,001st move up, which no diff announces (Binance documents this), so a deep
    /// book is compared level for level as far as it reaches, and must reach nearly 1,000.
    static func equal(
        _ b: Book, _ truth: (lastUpdateId: Int64, bids: [(String, String)], asks: [(String, String)]), depth: Int
    ) -> Bool {
        let bids = truth.bids.prefix(depth).map { [$0.0, $0.1] }
        let asks = truth.asks.prefix(depth).map { [$0.0, $0.1] }
        let mine = (b.bids.map { [$0.price, $0.size] }, b.asks.map { [$0.price, $0.size] })
        let full = depth <= 100
        return b.updateId == truth.lastUpdateId
            && (full ? mine.0 == bids : Array(bids.prefix(mine.0.count)) == mine.0 && mine.0.count >= depth - 50)
            && (full ? mine.1 == asks : Array(asks.prefix(mine.1.count)) == mine.1 && mine.1.count >= depth - 50)
    }

    @Test(
        "equal to the exchange's book at a still point; a forced update-id gap resynchronises",
        arguments: [Venue.binanceSpot, .binanceUSDM])
    func deepBooks(venue: Venue) async throws {
        let sim = try await ExchangeSimulator.start()
        let usdm = venue == .binanceUSDM
        let rest = ExchangeRESTClient(
            name: venue.rawValue, baseURL: sim.restBaseURL, budget: .binance(), logger: quietLogger)
        let clients = CatalogueService.Clients(bybit: rest, binanceSpot: rest, binanceUSDM: rest)
        let log = NoticeLog()
        let pool = UpstreamPool(
            venue: venue, url: WebSocketURL(sim.baseURL + (usdm ? "/usdm" : ""))!, linger: .seconds(30),
            fetchDepth: { v, symbol in try await DepthSnapshot.fetch(v, symbol: symbol, clients: clients) },
            logger: quietLogger, onNotice: { log.append($0) })
        let deep = StreamKey.book("BTCUSDT", depth: 1000, venue)
        let hundred = StreamKey.book("BTCUSDT", depth: 100, venue)
        _ = await pool.ensureSubscribed(deep)
        _ = await pool.ensureSubscribed(hundred)
        // 1,000 levels from the snapshot; diffs that delete one of them leave 999 and fewer (see `equal`).
        #expect(await eventually(timeout: .seconds(20)) { (Self.book(log, deep, atLeast: 0)?.bids.count ?? 0) >= 950 })
        #expect(Self.book(log, hundred, atLeast: 0).map { $0.bids.count == 100 && $0.asks.count == 100 } == true)

        for round in 0..<2 {
            if round == 1 {
                // A gap: the next diff skips an update id; the pool must fetch a new snapshot.
                let asked = await sim.restCounters().requests
                await sim.freezeBinance(false)
                await sim.skipBinanceUpdateId()
                #expect(await eventually { await sim.restCounters().requests > asked }, "a new snapshot after the gap")
                // Frozen at once: the snapshot may well arrive after the last diff, and must enter the book then,
                // not wait for a diff that will not come.
            }
            await sim.freezeBinance(true)
            let truth = try #require(await sim.binanceBook("BTCUSDT", usdm: usdm))
            #expect(
                await eventually { Self.book(log, deep, atLeast: truth.lastUpdateId) != nil },
                "round \(round): the pool reached the exchange's last update \(truth.lastUpdateId)")
            let mine = try #require(Self.book(log, deep, atLeast: truth.lastUpdateId))
            #expect(Self.equal(mine, truth, depth: 1000), "round \(round): book:1000 equals the exchange's")
            let top = try #require(Self.book(log, hundred, atLeast: truth.lastUpdateId))
            #expect(Self.equal(top, truth, depth: 100), "round \(round): book:100 equals its top 100")
        }
        await pool.stopAll()
        await sim.stop()
    }
}
