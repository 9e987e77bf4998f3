import Testing

@testable import TickplexModel

@Suite("Exponential backoff with jitter")
struct BackoffTests {
    let backoff = Backoff(initial: .seconds(1), maximum: .seconds(60))

    @Test("the ceiling doubles per attempt up to the maximum")
    func ceilings() {
        let expected: [Duration] = [
            .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(32), .seconds(60), .seconds(60),
        ]
        #expect((1...8).map { backoff.ceiling(attempt: $0) } == expected)
        #expect(backoff.ceiling(attempt: 1000) == .seconds(60))
    }

    @Test("each delay lies between half the ceiling and the ceiling, and delays vary")
    func jitter() {
        var delays = Set<Duration>()
        for attempt in 1...10 {
            for _ in 0..<20 {
                let d = backoff.delay(attempt: attempt)
                let c = backoff.ceiling(attempt: attempt)
                #expect(d >= c / 2 && d <= c)
                delays.insert(d)
            }
        }
        #expect(delays.count > 100)
    }
}
