/// A token bucket: `capacity` tokens refilled over `periodMs`, at most `capacity` banked. Pure; time in
/// milliseconds is passed in. O(1) memory whatever the capacity.
public struct TokenBucket: Sendable, Equatable {
    public let capacity: Double
    /// Tokens per millisecond.
    private let refill: Double
    private var tokens: Double
    private var last: Int64?

    /// `capacity` per `periodMs` (e.g. 120 per 60,000 ms).
    public init(capacity: Int, periodMs: Int64) {
        self.capacity = Double(capacity)
        self.refill = Double(capacity) / Double(max(1, periodMs))
        self.tokens = Double(capacity)
    }

    /// `rate` tokens per second.
    public init(rate: Int) { self.init(capacity: rate, periodMs: 1000) }

    /// Takes one token if there is one.
    public mutating func take(now: Int64) -> Bool {
        // A clock that steps back refills nothing rather than draining the bucket.
        if let last, now > last { tokens = min(capacity, tokens + Double(now - last) * refill) }
        last = max(last ?? now, now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// How long until a token is there (0 when one is), as of the last `take`.
    public var msUntilToken: Int64 { tokens >= 1 ? 0 : Int64(((1 - tokens) / refill).rounded(.up)) }
}
