import Testing

@testable import TickplexProtocol

@Suite("Token bucket (pure)")
struct TokenBucketTests {
    @Test(
        "capacity per period: N at once, then one per period/N; the wait is said; a clock stepping back refills nothing"
    )
    func perMinute() {
        var b = TokenBucket(capacity: 3, periodMs: 60_000)
        var taken: [Bool] = []
        for now: Int64 in [1_000, 1_000, 1_000, 1_000] { taken.append(b.take(now: now)) }
        #expect(taken == [true, true, true, false])
        #expect(b.msUntilToken == 20_000)
        taken = [b.take(now: 20_000), b.take(now: 21_000), b.take(now: 5_000)]
        #expect(taken == [false, true, false], "one token 20 s later; a step back refills nothing")
        // Never more than the capacity banked, however long it rests.
        taken = (0..<4).map { _ in b.take(now: 10_000_000) }
        #expect(taken == [true, true, true, false])
    }
}
