/// At most `limit` attempts in any `windowMs`: the exchange's connection-attempt rule (Binance 300 per 5 minutes
/// per IP, Bybit 500 per 5 minutes per domain), kept below it. Pure: time in ms is passed in. Memory is the
/// last `limit` attempt times, whatever the callers do.
public struct AttemptWindow: Sendable {
    public let limit: Int
    public let windowMs: Int64
    /// Times of the last attempts, oldest first (at most `limit`).
    private var times: [Int64] = []
    private var head = 0

    public init(limit: Int, windowMs: Int64) {
        precondition(limit > 0 && windowMs > 0)
        self.limit = limit
        self.windowMs = windowMs
        times.reserveCapacity(limit)
    }

    /// Books the next attempt: how long to wait (ms) before making it. The attempt is counted at that moment.
    public mutating func reserve(now: Int64) -> Int64 {
        guard times.count == limit else {
            times.append(now)
            return 0
        }
        // The oldest of the last `limit` attempts leaves the window at oldest + window.
        let oldest = times[head]
        let at = max(now, oldest + windowMs)
        times[head] = at
        head = (head + 1) % limit
        return at - now
    }

    /// Attempts counted within the window ending at `now`.
    public func inWindow(now: Int64) -> Int { times.filter { $0 > now - windowMs && $0 <= now }.count }
}
