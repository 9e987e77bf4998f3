/// A token bucket: `rate` tokens per second, at most `rate` banked. Pure; time in milliseconds is passed in.
public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    private var tokens: Double
    private var last: Int64?

    public init(rate: Int) {
        self.rate = Double(rate)
        self.tokens = Double(rate)
    }

    /// Takes one token if there is one.
    public mutating func take(now: Int64) -> Bool {
        // A clock that steps back refills nothing rather than draining the bucket.
        if let last, now > last { tokens = min(rate, tokens + Double(now - last) * rate / 1000) }
        last = max(last ?? now, now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
