import Foundation
import Synchronization
import TickplexVenues

/// One connection's outbound message budget (Binance: 5 per second, every frame counted), shared by the session's
/// two writers: heartbeat frames may use the whole limit, requests all but one place of it. A lock around a pure
/// `SendRateLimiter`, taken once per frame sent.
final class SendBudget: Sendable {
    let limit: Int
    private let limiter: Mutex<SendRateLimiter>

    init(limit: Int, windowMs: Int64) {
        self.limit = limit
        limiter = Mutex(SendRateLimiter(limit: limit, windowMs: windowMs))
    }

    /// Waits until a frame fits within `share` of the limit, then counts it as sent.
    func take(share: Int) async throws {
        while true {
            let wait: Int64 = limiter.withLock { l in
                let now = UpstreamPool.nowMs()
                let next = l.nextAllowed(now: now, using: share)
                if next <= now { l.record(now: now) }
                return next - now
            }
            if wait <= 0 { return }
            try await Task.sleep(for: .milliseconds(wait))
        }
    }
}
