/// Exponential backoff with full jitter: attempt n waits a random time in [d/2, d] where
/// d = min(initial * 2^(n-1), maximum). The jitter spreads reconnect storms of many clients.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The ceiling for attempt `attempt` (1-based), before jitter.
    public func ceiling(attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let scaled = initial * (1 << exponent)
        return scaled > maximum ? maximum : scaled
    }

    public func delay<G: RandomNumberGenerator>(attempt: Int, using generator: inout G) -> Duration {
        let ceiling = ceiling(attempt: attempt)
        let factor = Double.random(in: 0.5...1.0, using: &generator)
        return ceiling * factor
    }

    public func delay(attempt: Int) -> Duration {
        var g = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &g)
    }
}
