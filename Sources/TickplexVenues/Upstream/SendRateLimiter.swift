/// A sliding one-second window of sent messages, for venues that close a connection that sends too much
/// (Binance: 5 inbound messages per second per connection, pongs included).
///
/// Pure and clock-free: callers pass the current time in milliseconds, so tests drive it directly.
public struct SendRateLimiter: Sendable, Equatable {
    public let limit: Int
    public let windowMs: Int64
    private var sent: [Int64] = []

    /// `limit` messages per `windowMs`. Binance's 5/s is used as 4/s for requests so that a pong always fits.
    public init(limit: Int, windowMs: Int64 = 1000) {
        precondition(limit > 0)
        self.limit = limit
        self.windowMs = windowMs
    }

    private mutating func expire(now: Int64) {
        while let first = sent.first, first <= now - windowMs { sent.removeFirst() }
    }

    /// Whether a message may be sent at `now`.
    public mutating func canSend(now: Int64) -> Bool {
        expire(now: now)
        return sent.count < limit
    }

    /// Records a sent message (call it for every frame, pongs included).
    public mutating func record(now: Int64) {
        expire(now: now)
        sent.append(now)
    }

    /// The earliest time a message may be sent.
    public mutating func nextAllowed(now: Int64) -> Int64 { nextAllowed(now: now, using: limit) }

    /// The earliest time a message may be sent by a sender held to `share` of the limit (requests leave headroom
    /// so that a pong never waits behind a queue of them).
    public mutating func nextAllowed(now: Int64, using share: Int) -> Int64 {
        expire(now: now)
        let share = max(1, min(share, limit))
        return sent.count < share ? now : sent[sent.count - share] + windowMs
    }

    /// Messages sent in the window ending at `now` (for tests and stats).
    public mutating func count(now: Int64) -> Int {
        expire(now: now)
        return sent.count
    }
}
