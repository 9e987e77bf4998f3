import Testing
import TickplexModel

@testable import TickplexUpstream

@Suite("Deduplication and hand-over across a switch (pure)")
struct EventDeduplicatorTests {
    static func trade(_ id: Int) -> MarketEvent {
        MarketEvent(
            key: .trade("BTCUSDT", .binanceSpot), exchangeTime: Int64(id),
            payload: .trades([Trade(id: String(id), price: "1", size: "1", side: .buy, time: 1, isBlockTrade: false)]))
    }

    static func ids(_ events: [MarketEvent]) -> [Int] {
        events.compactMap { if case .trades(let t) = $0.payload { Int(t[0].id) } else { nil } }
    }

    /// Feeds (connection, trade id) pairs in order; returns the ids that went out, in order.
    static func run(_ d: inout EventDeduplicator, _ feed: [(Int, Int)]) -> [Int] {
        var out: [Int] = []
        for (connection, id) in feed {
            let (pass, released) = d.admit(topic: "t", connection: connection, trade(id))
            if pass { out.append(id) }
            out += ids(released)
        }
        return out
    }

    @Test("trades by id and books by update id, always; other events by exchange time only during a hand-over")
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
        for id in [5, 5, 4, 6] { seen.append(d.admit(topic: "t", connection: 1, Self.trade(id)).pass) }
        seen.append(d.admit(topic: "other", connection: 1, Self.trade(1)).pass)
        #expect(seen == [true, false, false, true, true], "trade ids, per topic")
        let outside = [d.admit(topic: "k", connection: 1, kline).pass, d.admit(topic: "k", connection: 1, kline).pass]
        #expect(outside == [true, true], "outside a hand-over: every kline passes")
        d.handOver(["k2"], from: 1, to: 2)
        let during = [d.admit(topic: "k2", connection: 1, kline).pass, d.admit(topic: "k2", connection: 1, kline).pass]
        #expect(during == [true, false], "during a hand-over: the same exchange time is a duplicate")
        d.forget(topic: "t")
        let again = d.admit(topic: "t", connection: 1, Self.trade(1)).pass
        #expect(again, "forgotten with its topic")
    }

    @Test("the new connection runs ahead of a lagging old one: no gap, no duplicate, in order")
    func newAhead() {
        var d = EventDeduplicator()
        _ = Self.run(&d, (980..<990).map { (1, $0) })
        d.handOver(["t"], from: 1, to: 2)
        // The new connection's subscription starts at 1000 and it reads 1000…1010 before the old one reads 990.
        var feed = (1000...1010).map { (2, $0) }
        feed += (990...1008).map { (1, $0) }
        feed += (1011...1015).map { (2, $0) }
        let out = Self.run(&d, feed)
        #expect(out == Array(990...1015), "\(out)")
        #expect(d.waiting(from: 1) == 0, "handed over at the overlap")
        #expect(Self.run(&d, [(1, 1016)]).isEmpty, "after the hand-over the old connection is not a source any more")
    }

    @Test("the new connection lags behind: its late frames are duplicates, its new ones pass")
    func newBehind() {
        var d = EventDeduplicator()
        d.handOver(["t"], from: 1, to: 2)
        var feed = (990...1010).map { (1, $0) }
        feed += (1000...1015).map { (2, $0) }
        let out = Self.run(&d, feed)
        #expect(out == Array(990...1015), "\(out)")
        #expect(d.waiting(from: 1) == 0)
    }

    @Test("interleaved frame by frame: every id once and in order")
    func interleaved() {
        var d = EventDeduplicator()
        d.handOver(["t"], from: 1, to: 2)
        var feed: [(Int, Int)] = []
        for i in 0..<40 {
            feed.append((1, 100 + i))
            if i >= 5 { feed.append((2, 100 + i - 5 + 10)) }  // the new one starts at 110, five frames ahead
        }
        let out = Self.run(&d, feed)
        #expect(out == Array(100...144), "\(out)")
    }

    @Test("the old connection stops before the streams overlap: what waits is released once, in order")
    func oldStopsFirst() {
        var d = EventDeduplicator()
        _ = Self.run(&d, [(1, 10)])
        d.handOver(["t"], from: 1, to: 2)
        #expect(Self.run(&d, (20...24).map { (2, $0) }).isEmpty, "waits for the overlap")
        #expect(d.waiting(from: 1) == 1)
        let released = Self.ids(d.finish(from: 1).map(\.event))
        #expect(released == [20, 21, 22, 23, 24])
        #expect(Self.run(&d, [(2, 25), (1, 26)]) == [25, 26], "the hand-over has ended: plain deduplication again")
    }

    @Test("at most maxWaiting events wait: then the switch completes without the overlap")
    func bounded() {
        var d = EventDeduplicator()
        _ = Self.run(&d, [(1, 1)])
        d.handOver(["t"], from: 1, to: 2)
        let out = Self.run(&d, (100..<(100 + EventDeduplicator.maxWaiting)).map { (2, $0) })
        #expect(out == Array(100..<(100 + EventDeduplicator.maxWaiting)), "released when the bound is reached")
        #expect(d.waiting(from: 1) == 0)
        #expect(Self.run(&d, [(1, 2)]).isEmpty, "the old connection is retired")
    }
}
