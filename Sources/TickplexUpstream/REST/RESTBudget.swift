public import TickplexModel

/// How much one exchange host lets this IP ask of it, and how much of that has been asked: the rule that keeps the
/// node inside the exchange's REST limits. Pure: time and the exchange's answers are passed in.
///
/// - Binance (per host: spot and USD-M count separately): request weight per minute, read back from every reply's
///   `X-MBX-USED-WEIGHT-1M`; we stop at `headroom` of the limit (default 80 %) and wait for the next minute. A 429
///   or 418 blocks the host until its `Retry-After` has passed: no request goes out meanwhile, so a 429 can never
///   grow into a 418 ban.
/// - Bybit: 600 requests per 5 s per IP, then a 403 and a ban of at least 10 minutes. We keep to half of it; a
///   403 blocks the host for 10 minutes.
public struct RESTBudget: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        case weightPerMinute(limit: Int)
        case requestsPerWindow(limit: Int, windowMs: Int64)
    }

    public var rule: Rule
    /// The share of the exchange's limit we allow ourselves.
    public var headroom: Double
    private var minute: Int64 = -1
    private var usedThisMinute = 0
    private var sentAt: [Int64] = []
    private(set) public var blockedUntil: Int64 = 0

    public init(rule: Rule, headroom: Double = 0.8) {
        self.rule = rule
        self.headroom = headroom
    }

    public static func binance(limit: Int = 6000) -> RESTBudget { RESTBudget(rule: .weightPerMinute(limit: limit)) }
    public static func bybit() -> RESTBudget {
        RESTBudget(rule: .requestsPerWindow(limit: 600, windowMs: 5_000), headroom: 0.5)
    }

    /// Milliseconds to wait before a request of `weight` may go out (0: now).
    public mutating func delay(now: Int64, weight: Int) -> Int64 {
        if now < blockedUntil { return blockedUntil - now }
        switch rule {
        case .weightPerMinute(let limit):
            let current = now / 60_000
            if current != minute {
                minute = current
                usedThisMinute = 0
            }
            let cap = max(1, Int(Double(limit) * headroom))
            guard usedThisMinute + weight > cap else { return 0 }
            // A request heavier than the whole cap still goes, alone, at the start of a minute.
            if usedThisMinute == 0 { return 0 }
            return (current + 1) * 60_000 - now
        case .requestsPerWindow(let limit, let windowMs):
            sentAt.removeAll { $0 <= now - windowMs }
            let cap = max(1, Int(Double(limit) * headroom))
            guard sentAt.count >= cap, let oldest = sentAt.first else { return 0 }
            return oldest + windowMs - now
        }
    }

    /// A request went out.
    public mutating func sent(now: Int64, weight: Int) {
        switch rule {
        case .weightPerMinute:
            let current = now / 60_000
            if current != minute {
                minute = current
                usedThisMinute = 0
            }
            usedThisMinute += weight
        case .requestsPerWindow:
            sentAt.append(now)
        }
    }

    /// The exchange answered: its own count of the weight used (Binance) and any refusal.
    public mutating func answered(now: Int64, status: Int, usedWeight: Int?, retryAfterSeconds: Int?) {
        if let usedWeight, now / 60_000 == minute { usedThisMinute = max(usedThisMinute, usedWeight) }
        switch (rule, status) {
        case (.weightPerMinute, 429), (.weightPerMinute, 418):
            blockedUntil = max(blockedUntil, now + Int64(max(retryAfterSeconds ?? 60, 1)) * 1000)
        case (.requestsPerWindow, 403):
            blockedUntil = max(blockedUntil, now + 600_000)
        case (.requestsPerWindow, 429):
            blockedUntil = max(blockedUntil, now + Int64(max(retryAfterSeconds ?? 10, 1)) * 1000)
        default:
            break
        }
    }

    /// The exchange said what its limit is (`rateLimits` of Binance's `exchangeInfo`).
    public mutating func learnedLimit(_ limit: Int) {
        if case .weightPerMinute = rule, limit > 0 { rule = .weightPerMinute(limit: limit) }
    }

    public var weightUsedThisMinute: Int { usedThisMinute }
}
