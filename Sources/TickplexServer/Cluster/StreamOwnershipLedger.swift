import TickplexBus
import TickplexModel

/// The bookkeeping of `StreamOwnership`, pure (times in ms are passed in; Redis and the pools stay outside): what
/// this node's subscribers want, what the cluster wants, which leases this node holds and whether its pool holds
/// each of them, and what to do next. `StreamOwnership` carries the steps out.
struct StreamOwnershipLedger: Sendable {
    struct Owned: Sendable, Equatable {
        var token: String
        var names: StreamLeaseNames
        /// This node holds one reference in its upstream pool (false while the stream lingers out).
        var poolHeld: Bool
    }

    /// After a first local want: nothing (an edge; or held and carried), take the lease, or hold the pool again.
    enum WantStep: Sendable, Equatable {
        case none
        case acquire
        case holdPool(token: String)
    }

    /// What an owned stream needs on a tick.
    enum Step: Sendable, Equatable {
        /// Wanted again: one reference in the pool.
        case holdPool(StreamKey, token: String)
        /// Wanted nowhere: let the pool linger it out.
        case releasePool(StreamKey)
        /// Wanted nowhere and no longer carried: give the lease back.
        case giveBack(StreamKey)
    }

    /// A stream this node's pool could not carry is left to other nodes for this long.
    static let refusalBackoffMs: Int64 = 30_000

    /// False for `ROLE=edge`: never takes a lease.
    let canOwn: Bool
    private(set) var local: [StreamKey: Int] = [:]
    private(set) var owned: [StreamKey: Owned] = [:]
    private(set) var clusterWanted: Set<StreamKey> = []
    private(set) var acquiring: Set<StreamKey> = []
    /// Owned streams whose pool reference is being taken (the upstream subscribe is under way), by lease token: a
    /// tick in the meantime must not take a second reference (it would never be released) nor wait for it.
    private(set) var holding: [StreamKey: String] = [:]
    private var refusedUntil: [StreamKey: Int64] = [:]

    init(canOwn: Bool) { self.canOwn = canOwn }

    // MARK: - Local demand

    /// One more local reference; true when it is the first (the node's demand is registered).
    mutating func want(_ key: StreamKey) -> Bool {
        local[key, default: 0] += 1
        guard local[key] == 1 else { return false }
        clusterWanted.insert(key)
        return true
    }

    /// One fewer; true when it was the last (the node's demand is withdrawn).
    mutating func unwant(_ key: StreamKey) -> Bool {
        guard let n = local[key] else { return false }
        local[key] = n > 1 ? n - 1 : nil
        return n == 1
    }

    /// What the first local want does once its demand is registered.
    func afterFirstWant(_ key: StreamKey) -> WantStep {
        guard canOwn, local[key] != nil else { return .none }
        guard let held = owned[key] else { return .acquire }
        return held.poolHeld || holding[key] != nil ? .none : .holdPool(token: held.token)
    }

    /// The cluster's demand as Redis has it now (this node's own always counts).
    mutating func clusterDemand(_ live: Set<StreamKey>) {
        clusterWanted = live.union(local.keys)
    }

    // MARK: - Leases

    /// Of `keys`, those whose lease this node should try to take now.
    func candidates(_ keys: [StreamKey], nowMs: Int64) -> [StreamKey] {
        guard canOwn else { return [] }
        return keys.filter { key in
            owned[key] == nil && !acquiring.contains(key) && (refusedUntil[key].map { $0 <= nowMs } ?? true)
        }
    }

    /// Every wanted stream this node holds no lease of, in a stable order.
    var unownedWanted: [StreamKey] {
        clusterWanted.filter { owned[$0] == nil }.sorted { $0.argument < $1.argument }
    }

    mutating func beginAcquiring(_ keys: [StreamKey]) { acquiring.formUnion(keys) }
    mutating func endAcquiring(_ keys: [StreamKey]) { acquiring.subtract(keys) }

    mutating func took(_ key: StreamKey, token: String, names: StreamLeaseNames) {
        owned[key] = Owned(token: token, names: names, poolHeld: false)
    }

    /// A pool reference is to be taken under `token`: false when one is held or being taken already.
    mutating func beginHold(_ key: StreamKey, token: String) -> Bool {
        guard let held = owned[key], held.token == token, !held.poolHeld, holding[key] == nil else { return false }
        holding[key] = token
        return true
    }

    /// The pool refused the reference taken under `token`.
    mutating func holdFailed(_ key: StreamKey, token: String) {
        if holding[key] == token { holding[key] = nil }
    }

    /// The pool took its reference under `token`; false when the lease was lost meanwhile (the reference must go).
    mutating func pooled(_ key: StreamKey, token: String) -> Bool {
        if holding[key] == token { holding[key] = nil }
        guard owned[key]?.token == token else { return false }
        owned[key]?.poolHeld = true
        return true
    }

    /// The pool could not carry it: left to others for a while.
    mutating func refused(_ key: StreamKey, nowMs: Int64) {
        refusedUntil[key] = nowMs + Self.refusalBackoffMs
        refusedUntil = refusedUntil.filter { $0.value > nowMs }
    }

    /// The lease is gone (lost, or given back): what was held.
    mutating func drop(_ key: StreamKey) -> Owned? { owned.removeValue(forKey: key) }

    mutating func releasedPool(_ key: StreamKey) { owned[key]?.poolHeld = false }

    func holds(_ key: StreamKey, token: String) -> Bool { owned[key]?.token == token }

    /// Held here or wanted somewhere in the cluster (this node's own wants are always in `clusterWanted`): asking
    /// for it costs the exchange nothing new.
    func isCarried(_ key: StreamKey) -> Bool { owned[key] != nil || clusterWanted.contains(key) }

    /// Every lease held, for one renewal round trip.
    var renewals: [(key: StreamKey, names: StreamLeaseNames, token: String)] {
        owned.map { ($0.key, $0.value.names, $0.value.token) }.sorted { $0.key.argument < $1.key.argument }
    }

    /// What each held stream needs now. `carried`: the pool still carries it (wanted elsewhere on the node, or
    /// lingering).
    func plan(carried: (StreamKey) -> Bool) -> [Step] {
        owned.sorted { $0.key.argument < $1.key.argument }.compactMap { key, held in
            let wanted = clusterWanted.contains(key)
            // A reference being taken is left to finish: it is neither asked for again nor given back under it.
            if holding[key] != nil { return nil }
            if wanted && !held.poolHeld { return .holdPool(key, token: held.token) }
            if !wanted && held.poolHeld { return .releasePool(key) }
            if !wanted && !held.poolHeld && !carried(key) { return .giveBack(key) }
            return nil
        }
    }
}
