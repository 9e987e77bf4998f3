import Testing
import TickplexUpstream

/// The rule that keeps REST requests inside the exchange's limits per IP (pure).
@Suite("REST budget: inside the exchange's limits, 429 honoured, never a 418")
struct RESTBudgetTests {
    @Test("Binance: at most 80 % of the weight per minute; the rest of the minute waits")
    func binanceWeight() {
        var b = RESTBudget.binance(limit: 100)
        var now: Int64 = 60_000 * 10
        for _ in 0..<4 {
            #expect(b.delay(now: now, weight: 20) == 0)
            b.sent(now: now, weight: 20)
        }
        #expect(b.delay(now: now + 1_000, weight: 20) == 59_000, "80 of 100 used: wait for the next minute")
        now += 60_000
        #expect(b.delay(now: now, weight: 20) == 0)
    }

    @Test("the exchange's own count wins when it is higher (other processes on the same IP)")
    func exchangeCount() {
        var b = RESTBudget.binance(limit: 100)
        let now: Int64 = 120_000
        #expect(b.delay(now: now, weight: 1) == 0)
        b.sent(now: now, weight: 1)
        b.answered(now: now, status: 200, usedWeight: 79, retryAfterSeconds: nil)
        #expect(b.delay(now: now + 10, weight: 2) > 0)
    }

    @Test("a 429 blocks every request until Retry-After has passed; a 418 too")
    func retryAfter() {
        var b = RESTBudget.binance()
        b.answered(now: 1_000, status: 429, usedWeight: nil, retryAfterSeconds: 7)
        #expect(b.delay(now: 1_000, weight: 1) == 7_000)
        #expect(b.delay(now: 7_999, weight: 1) == 1)
        #expect(b.delay(now: 8_000, weight: 1) == 0)
        b.answered(now: 9_000, status: 418, usedWeight: nil, retryAfterSeconds: 120)
        #expect(b.delay(now: 9_000, weight: 1) == 120_000)
    }

    @Test("Bybit: at most 300 requests per 5 s (half of 600); a 403 stops everything for 10 minutes")
    func bybit() {
        var b = RESTBudget.bybit()
        for i in 0..<300 {
            #expect(b.delay(now: Int64(i), weight: 1) == 0)
            b.sent(now: Int64(i), weight: 1)
        }
        #expect(b.delay(now: 300, weight: 1) == 4_700)
        #expect(b.delay(now: 5_000, weight: 1) == 0)
        b.answered(now: 6_000, status: 403, usedWeight: nil, retryAfterSeconds: nil)
        #expect(b.delay(now: 6_000, weight: 1) == 600_000)
    }

    @Test("a limit learned from exchangeInfo replaces the assumed one")
    func learned() {
        var b = RESTBudget.binance(limit: 6000)
        b.learnedLimit(10)
        b.sent(now: 0, weight: 8)
        #expect(b.delay(now: 0, weight: 1) > 0)
    }
}
