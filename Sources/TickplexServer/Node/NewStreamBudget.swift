import NIOCore
import Synchronization
import TickplexProtocol

/// MAX_NEW_STREAMS_PER_CLIENT_PER_MIN: how many streams new to the node each client may cause per minute, so that
/// subscribe/unsubscribe churn or on-demand quotes cannot walk the exchange's symbol space. One token bucket per
/// client (O(1) each): a WebSocket client by its connection, a REST caller by its API key (one shared bucket for
/// callers without one). Shared by the hub and the quote route; refusals are counted.
final class NewStreamBudget: Sendable {
    let perMinute: Int
    private let buckets = Mutex<[String: TokenBucket]>([:])
    private let refusals: Atomic<Int>

    init(perMinute: Int) {
        self.perMinute = perMinute
        refusals = Atomic(0)
    }

    /// Takes one from `client`'s budget, or says why not (with when to try again).
    func spend(_ client: String) -> String? {
        let now = Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
        let wait: Int64? = buckets.withLock { buckets in
            var bucket = buckets[client] ?? TokenBucket(capacity: perMinute, periodMs: 60_000)
            defer { buckets[client] = bucket }
            return bucket.take(now: now) ? nil : bucket.msUntilToken
        }
        guard let wait else { return nil }
        refusals.add(1, ordering: .relaxed)
        return "more than \(perMinute) streams new to this node in a minute (MAX_NEW_STREAMS_PER_CLIENT_PER_MIN); "
            + "try again in \(wait / 1000 + 1) s"
    }

    /// The client has gone (a WebSocket connection closed).
    func forget(_ client: String) { _ = buckets.withLock { $0.removeValue(forKey: client) } }

    var refused: Int { refusals.load(ordering: .relaxed) }
}
