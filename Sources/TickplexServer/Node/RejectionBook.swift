import Synchronization
import TickplexModel

/// The exchange's recent refusals by stream, for REST: a quote for a symbol the exchange just refused is answered
/// 404 with its words, at once and without asking the exchange again. Bounded: the oldest entries go first.
final class RejectionBook: Sendable {
    private struct Entry {
        var reason: String
        var at: ContinuousClock.Instant
    }
    private let entries = Mutex<[StreamKey: Entry]>([:])
    private let capacity: Int

    init(capacity: Int = 1024) { self.capacity = capacity }

    func record(_ key: StreamKey, reason: String) {
        entries.withLock { e in
            e[key] = Entry(reason: reason, at: .now)
            if e.count > capacity, let oldest = e.min(by: { $0.value.at < $1.value.at })?.key { e[oldest] = nil }
        }
    }

    /// The refusal of `key` recorded at or after `since`.
    func reason(for key: StreamKey, since: ContinuousClock.Instant) -> String? {
        entries.withLock { e in
            guard let entry = e[key], entry.at >= since else { return nil }
            return entry.reason
        }
    }
}
