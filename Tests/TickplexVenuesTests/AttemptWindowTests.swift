import Testing

@testable import TickplexVenues

@Suite("Attempt window (pure): at most N attempts in any window")
struct AttemptWindowTests {
    @Test("N attempts go at once; the next waits until the oldest leaves the window; the count never exceeds N")
    func window() {
        var w = AttemptWindow(limit: 3, windowMs: 1_000)
        #expect([w.reserve(now: 0), w.reserve(now: 10), w.reserve(now: 20)] == [0, 0, 0])
        #expect(w.reserve(now: 30) == 970, "the 4th waits for the 1st to be 1 s old")
        #expect(w.reserve(now: 30) == 980, "the 5th waits for the 2nd")
        #expect(w.reserve(now: 2_000) == 0)
        // However fast the callers, no window of 1 s holds more than 3 booked attempts.
        var times: [Int64] = []
        var v = AttemptWindow(limit: 3, windowMs: 1_000)
        for now in stride(from: Int64(0), to: 500, by: 5) { times.append(now + v.reserve(now: now)) }
        for t in times { #expect(times.filter { $0 >= t && $0 < t + 1_000 }.count <= 3) }
        #expect(v.inWindow(now: times.last!) <= 3)
    }
}
