import TickplexModel
import TickplexUpstream
import TickplexVenues

/// Where the node's wish for a stream goes: one reference per local subscriber (a client, a waiting quote).
/// Alone, the node's own upstream pools; in a cluster, `StreamOwnership`, which subscribes upstream only on the
/// node that holds the stream's lease.
protocol UpstreamDemand: Sendable {
    /// One more local reference; the venue's refusal when this node tried to carry the stream and could not.
    func want(_ key: StreamKey) async -> VenueRejection?
    /// One fewer.
    func unwant(_ key: StreamKey) async
    /// Whether the stream is carried already (asking for it costs the exchange nothing).
    func carries(_ key: StreamKey) async -> Bool
    /// Events of streams carried here are published by this node (a waiting quote is woken by the publisher);
    /// false when another node may be the one that publishes.
    var publishesLocally: Bool { get }
}

/// A single node: the pools' own reference counting.
struct LocalUpstreamDemand: UpstreamDemand {
    let upstream: UpstreamPools

    func want(_ key: StreamKey) async -> VenueRejection? {
        guard let pool = upstream.pool(for: key.venue) else { return VenueRejection("venue not configured") }
        if case .failure(let rejection) = await pool.ensureSubscribed(key) { return rejection }
        return nil
    }

    func unwant(_ key: StreamKey) async { await upstream.pool(for: key.venue)?.release(key) }

    func carries(_ key: StreamKey) async -> Bool { await upstream.pool(for: key.venue)?.carries(key) ?? false }

    var publishesLocally: Bool { true }
}
