import Foundation
import Testing
import TickplexModel
import TickplexSimulator
import TickplexUpstream

@Suite("Bybit upstream against the simulator over real WebSockets")
struct BybitUpstreamTests {
    @Test("25 spot subscriptions arrive upstream in requests of at most 10 args, on one connection")
    func spotBatching() async throws {
        var config = ExchangeSimulator.Configuration()
        config.prices = Dictionary(uniqueKeysWithValues: (0..<25).map { ("S\($0)USDT", "1.\($0 + 10)") })
        let sim = try await ExchangeSimulator.start(config)
        let log = NoticeLog()
        let pool = makePool(.bybitSpot, sim: sim, log: log)
        let keys = (0..<25).map { StreamKey.trade("S\($0)USDT", .bybitSpot) }
        for key in keys { _ = await pool.ensureSubscribed(key) }
        #expect(await eventually { await sim.openConnections().first?.subscribed.count == 25 })
        let connections = await sim.openConnections()
        #expect(connections.count == 1)
        let requests = bybitSubscribeArgs(connections[0].requests)
        #expect(requests.allSatisfy { $0.count <= 10 }, "request sizes \(requests.map(\.count))")
        #expect(requests.flatMap { $0 }.sorted() == keys.map { "publicTrade.\($0.symbol)" }.sorted())
        #expect(await eventually { Set(log.events.map(\.key)) == Set(keys) }, "data flows for every stream")
        await pool.stopAll()
        await sim.stop()
    }

    @Test("linear: the data the exchange sends before the ack is delivered, snapshot first")
    func dataBeforeAck() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log)
        let key = StreamKey.ticker("BTCUSDT")
        _ = await pool.ensureSubscribed(key)
        #expect(await eventually { log.events(for: key).count >= 3 })
        // The first frame on the wire was the snapshot, sent before the ack: it carries the fields deltas never do.
        guard case .ticker(let first) = log.events(for: key).first?.payload else {
            Issue.record("no ticker")
            return
        }
        #expect(
            first.openInterest == "59891.732" && first.fundingRate == "0.0001"
                && first.nextFundingTime == 1_786_320_000_000)
        let sequence = await sim.openConnections().first?.requests ?? []
        #expect(sequence.count == 1)
        await pool.stopAll()
        await sim.stop()
    }

    @Test("an unknown symbol comes back as a per-stream rejection in the exchange's words; others keep flowing")
    func unknownSymbol() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log)
        let bad = StreamKey.trade("NOTASYMBOL")
        let good = StreamKey.trade("ETHUSDT")
        _ = await pool.ensureSubscribed(good)
        _ = await pool.ensureSubscribed(bad)
        #expect(await eventually { !log.rejections.isEmpty })
        #expect(log.rejections.map(\.0) == [bad])
        #expect(log.rejections.first?.1 == "error:handler not found,topic:publicTrade.NOTASYMBOL")
        let before = log.events(for: good).count
        #expect(await eventually { log.events(for: good).count > before + 2 })
        #expect(await pool.activeTopics == ["publicTrade.ETHUSDT"])
        await pool.stopAll()
        await sim.stop()
    }

    @Test("an order-book update-id gap triggers a resubscribe and a fresh snapshot")
    func bookGap() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log)
        let key = StreamKey.book("BTCUSDT", depth: 10)
        _ = await pool.ensureSubscribed(key)
        #expect(await eventually { log.events(for: key).count >= 5 })
        await sim.skipUpdateId()
        #expect(
            await eventually {
                let requests = await sim.openConnections().first?.requests ?? []
                return requests.contains { $0.contains("unsubscribe") && $0.contains("orderbook.50.BTCUSDT") }
                    && bybitSubscribeArgs(requests).filter { $0 == ["orderbook.50.BTCUSDT"] }.count == 2
            })
        let afterGap = log.events(for: key).count
        #expect(
            await eventually { log.events(for: key).count > afterGap + 3 }, "books flow again from a fresh snapshot")
        guard case .book(let book) = log.events(for: key).last?.payload else { return }
        #expect(book.bids.count == 10 && book.asks.count == 10)
        await pool.stopAll()
        await sim.stop()
    }

    @Test(
        "a stalled connection is detected and the stream resumes on a new one within 35 s, each topic resubscribed once"
    )
    func stall() async throws {
        let sim = try await ExchangeSimulator.start()
        let log = NoticeLog()
        let pool = makePool(.bybitLinear, sim: sim, log: log)
        let keys: [StreamKey] = [.ticker("BTCUSDT"), .trade("ETHUSDT"), .kline(.m1, "SOLUSDT")]
        for key in keys { _ = await pool.ensureSubscribed(key) }
        #expect(await eventually { Set(log.events.map(\.key)) == Set(keys) })
        await sim.stall()
        let stalledAt = ContinuousClock.now
        let before = log.events.count
        #expect(
            await eventually(timeout: .seconds(35)) {
                let open = await sim.openConnections().count
                let all = await sim.connections().count
                return open == 1 && all == 2 && log.events.count > before + 5
            })
        #expect(ContinuousClock.now - stalledAt < .seconds(35))
        let fresh = try #require(await sim.openConnections().first)
        let args = bybitSubscribeArgs(fresh.requests).flatMap { $0 }
        #expect(args.sorted() == ["kline.1.SOLUSDT", "publicTrade.ETHUSDT", "tickers.BTCUSDT"], "each exactly once")
        #expect(log.all.contains(.status(venue: .bybitLinear, connection: 1, state: "reconnecting")))
        await pool.stopAll()
        await sim.stop()
    }
}
