import Testing
import TickplexModel

@testable import TickplexVenues

@Suite("Upstream state machines (pure)")
struct UpstreamStateTests {
    @Test("rate limiter: never more than 5 in any one-second window; tells when the next fits")
    func rateLimiter() {
        var limiter = SendRateLimiter(limit: 5)
        var sentAt: [Int64] = []
        var now: Int64 = 0
        while sentAt.count < 40 {
            let next = limiter.nextAllowed(now: now)
            now = max(now, next)
            let allowed = limiter.canSend(now: now)
            #expect(allowed)
            limiter.record(now: now)
            sentAt.append(now)
            now += 7
        }
        for (i, t) in sentAt.enumerated() {
            let inWindow = sentAt[i...].prefix { $0 < t + 1000 }.count
            #expect(inWindow <= 5, "window starting at \(t) holds \(inWindow)")
        }
        // And it does not throttle below the limit: 40 messages take about 8 s, not more.
        #expect(sentAt.last! < 8_000)
    }

    @Test("refcounts: first subscriber subscribes, last leaves → unsubscribe only after the linger")
    func refcountAndLinger() {
        var table = SubscriptionTable(lingerMs: 30_000)
        let k = StreamKey.ticker("BTCUSDT")
        #expect(table.acquire(k, topic: "tickers.BTCUSDT", now: 0) == [.subscribe(topic: "tickers.BTCUSDT")])
        #expect(table.acquire(k, topic: "tickers.BTCUSDT", now: 1) == [])
        table.release(k, topic: "tickers.BTCUSDT", now: 2)
        table.release(k, topic: "tickers.BTCUSDT", now: 3)
        #expect(table.nextExpiry == 30_003)
        #expect(table.expire(now: 30_002) == [])
        // Churn within the linger keeps the upstream subscription and sends nothing.
        #expect(table.acquire(k, topic: "tickers.BTCUSDT", now: 10_000) == [])
        table.release(k, topic: "tickers.BTCUSDT", now: 20_000)
        #expect(table.expire(now: 49_999) == [])
        #expect(table.expire(now: 50_000) == [.unsubscribe(topic: "tickers.BTCUSDT")])
        #expect(table.activeTopics == [])
    }

    @Test("two book depths share one topic; the topic lives while either is wanted")
    func sharedTopic() {
        var table = SubscriptionTable(lingerMs: 0)
        let d10 = StreamKey.book("BTCUSDT", depth: 10)
        let d50 = StreamKey.book("BTCUSDT", depth: 50)
        #expect(table.acquire(d10, topic: "orderbook.50.BTCUSDT", now: 0).count == 1)
        #expect(table.acquire(d50, topic: "orderbook.50.BTCUSDT", now: 0) == [])
        table.release(d10, topic: "orderbook.50.BTCUSDT", now: 1)
        #expect(table.expire(now: 100) == [])
        table.release(d50, topic: "orderbook.50.BTCUSDT", now: 101)
        #expect(table.expire(now: 101) == [.unsubscribe(topic: "orderbook.50.BTCUSDT")])
    }

    @Test("acks: FIFO without ids, by id when echoed; a named topic is rejected alone")
    func acks() {
        var q = AckQueue()
        q.sent(.init(id: "1", op: "subscribe", topics: ["tickers.A", "tickers.B"]))
        q.sent(.init(id: "2", op: "subscribe", topics: ["publicTrade.NOPE", "publicTrade.C"]))
        q.sent(.init(id: "3", op: "subscribe", topics: ["kline.1.C"]))
        // Spot acks carry no req_id: first in, first out.
        #expect(
            q.received(requestId: nil, success: true, message: "subscribe")
                == .confirmed(.init(id: "1", op: "subscribe", topics: ["tickers.A", "tickers.B"])))
        // Matched by id even out of order.
        #expect(
            q.received(requestId: "3", success: true, message: "")
                == .confirmed(.init(id: "3", op: "subscribe", topics: ["kline.1.C"])))
        #expect(
            q.received(requestId: "2", success: false, message: "error:handler not found,topic:publicTrade.NOPE")
                == .failed(
                    .init(id: "2", op: "subscribe", topics: ["publicTrade.NOPE", "publicTrade.C"]),
                    rejected: ["publicTrade.NOPE"], retry: ["publicTrade.C"],
                    message: "error:handler not found,topic:publicTrade.NOPE"))
        #expect(q.received(requestId: nil, success: true, message: "") == .unmatched)
    }
}

@Suite("Ack attribution without a named topic")
struct AckAttributionTests {
    @Test("an unnamed failure of a multi-topic request retries each topic; of a single-topic request rejects it")
    func unnamed() {
        var q = AckQueue()
        q.sent(.init(id: "1", op: "subscribe", topics: ["a@trade", "b-x@trade"]))
        #expect(
            q.received(requestId: "1", success: false, message: "code 2: Invalid request: invalid stream")
                == .failed(
                    .init(id: "1", op: "subscribe", topics: ["a@trade", "b-x@trade"]), rejected: [],
                    retry: ["a@trade", "b-x@trade"], message: "code 2: Invalid request: invalid stream"))
        q.sent(.init(id: "2", op: "subscribe", topics: ["b-x@trade"]))
        #expect(
            q.received(requestId: "2", success: false, message: "code 2: Invalid request: invalid stream")
                == .failed(
                    .init(id: "2", op: "subscribe", topics: ["b-x@trade"]), rejected: ["b-x@trade"], retry: [],
                    message: "code 2: Invalid request: invalid stream"))
    }
}
