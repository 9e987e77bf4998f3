import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TickplexBus
import TickplexConfig
import TickplexModel
import TickplexProtocol
import TickplexRedis
import TickplexUpstream
import TickplexVenues

/// Scale-out on Redis: which node carries each wanted stream upstream.
///
/// Every node registers the streams its local subscribers want (`ClusterDemand`, expiring, renewed each tick).
/// For each stream wanted anywhere in the cluster, exactly one node holds its lease (`RedisStreamLeases`) and
/// with it the upstream subscription; the others only listen on the bus. The holder renews its leases each tick
/// and publishes every event through a fenced script, so that once its lease is gone (it died, was paused or was
/// cut off from Redis) nothing it sends is published. A node with `ROLE` other than `edge` takes any wanted stream
/// whose lease is free: a dead holder's streams move within the lease TTL plus one tick. A stream nobody wants
/// any more is released upstream (after the linger) and its lease given back.
actor StreamOwnership: UpstreamDemand, Service {
    /// What `/stats` shows of the cluster.
    struct Report: Sendable, Encodable {
        var role: String
        var leaseTtlMs: Int
        var owned: [String]
        var wantedInCluster: Int
        var takeovers: Int
        var leasesLost: Int
    }

    private let role: TickplexConfig.Role
    private let ttlMs: Int
    private let tick: Duration
    private let nodeId: String
    private let brand: String
    private let keyspace: RedisKeyspace
    private let leases: RedisStreamLeases
    private let demand: ClusterDemand
    private let redis: RedisClient
    private let upstream: UpstreamPools
    let fences: OwnershipFences
    private let logger: Logger

    private var ledger: StreamOwnershipLedger
    private var epoch = 0
    private var takeovers = 0
    private var leasesLost = 0

    init(
        config: TickplexConfig, keyspace: RedisKeyspace, nodeId: String, redis: RedisClient, upstream: UpstreamPools,
        fences: OwnershipFences, logger: Logger
    ) {
        role = config.role
        ttlMs = config.leaseTTLMs
        // A fifth of the TTL (renewals have four more chances), at most a second: new demand and free leases are
        // picked up within a second even with a long TTL.
        tick = .milliseconds(min(1000, max(200, config.leaseTTLMs / 5)))
        self.nodeId = nodeId
        brand = config.brand
        self.keyspace = keyspace
        leases = RedisStreamLeases(client: redis)
        demand = ClusterDemand(client: redis, brand: config.brand)
        self.redis = redis
        self.upstream = upstream
        self.fences = fences
        self.logger = logger
        ledger = StreamOwnershipLedger(canOwn: config.role != .edge)
    }

    nonisolated var publishesLocally: Bool { false }

    private func member(_ key: StreamKey) -> String { ClusterDemand.member(argument: key.argument, nodeId: nodeId) }

    private static func nowMs() -> Int64 { UpstreamPool.nowMs() }

    // MARK: - Demand

    func want(_ key: StreamKey) async -> VenueRejection? {
        guard ledger.want(key) else { return nil }
        do {
            _ = try await demand.renew([member(key)], ttlMs: ttlMs)
        } catch {
            logger.warning("cluster demand for \(key.argument) not registered: \(error); retried every tick")
        }
        switch ledger.afterFirstWant(key) {
        case .none: return nil
        case .holdPool(let token): return await holdPool(key, token: token)
        case .acquire: return await acquire([key]).first?.rejection
        }
    }

    func unwant(_ key: StreamKey) async {
        guard ledger.unwant(key) else { return }
        try? await demand.remove(member(key))
    }

    func carries(_ key: StreamKey) -> Bool { ledger.isCarried(key) }

    var report: Report {
        Report(
            role: role.rawValue, leaseTtlMs: ttlMs,
            owned: ledger.owned.keys.map { $0.streamName(brand: brand) }.sorted(),
            wantedInCluster: ledger.clusterWanted.count, takeovers: takeovers, leasesLost: leasesLost)
    }

    // MARK: - Leases

    /// Tries to take the leases of `keys` (one round trip); for each taken, subscribes upstream. Returns the
    /// pool's refusal per key where this node took the lease and could not carry the stream.
    @discardableResult
    private func acquire(_ keys: [StreamKey]) async -> [(key: StreamKey, rejection: VenueRejection?)] {
        let candidates = ledger.candidates(keys, nowMs: Self.nowMs())
        guard !candidates.isEmpty else { return [] }
        ledger.beginAcquiring(candidates)
        defer { ledger.endAcquiring(candidates) }
        let attempts = candidates.map {
            (key: $0, names: keyspace.leaseNames($0), token: RedisStreamLeases.token(nodeId: nodeId))
        }
        let replies: [RESPValue]
        do {
            replies = try await redis.send(
                attempts.map { leases.acquireCommand($0.names, token: $0.token, ttlMs: ttlMs) })
        } catch {
            return []
        }
        var results: [(key: StreamKey, rejection: VenueRejection?)] = []
        for (attempt, reply) in zip(attempts, replies) {
            guard let grant = try? RedisStreamLeases.grant(reply, token: attempt.token) else { continue }
            results.append((attempt.key, await took(attempt.key, grant, names: attempt.names)))
        }
        return results
    }

    /// This node holds the lease now: fence, tell the clients of a takeover, subscribe upstream.
    private func took(
        _ key: StreamKey, _ grant: LeaseGrant, names: StreamLeaseNames
    ) async -> VenueRejection? {
        epoch += 1
        let takeover = !grant.cleanHandOver
        fences.install(
            key,
            .init(
                names: names, token: grant.token, seqBase: grant.previousSeq, seqKnown: grant.seqKnown, epoch: epoch,
                takeover: takeover))
        ledger.took(key, token: grant.token, names: names)
        if takeover {
            takeovers += 1
            logger.notice("took over \(key.argument) after seq \(grant.previousSeq) (its holder stopped renewing)")
            await publishTakeover(key, names: names, token: grant.token)
        } else {
            logger.info("owns \(key.argument) upstream")
        }
        return await holdPool(key, token: grant.token)
    }

    /// One reference in the pool for an owned stream; a pool that cannot carry it gives the lease back.
    private func holdPool(_ key: StreamKey, token: String) async -> VenueRejection? {
        guard let pool = upstream.pool(for: key.venue) else { return VenueRejection("venue not configured") }
        // One reference per lease: a tick that comes while the first subscribe waits for the exchange leaves it be.
        guard ledger.beginHold(key, token: token) else { return nil }
        let result = await pool.ensureSubscribed(key)
        switch result {
        case .success:
            // Lost while subscribing: the reference goes at once.
            if !ledger.pooled(key, token: token) { await pool.releaseNow(key) }
            return nil
        case .failure(let rejection):
            ledger.holdFailed(key, token: token)
            guard ledger.holds(key, token: token) else { return nil }
            ledger.refused(key, nowMs: Self.nowMs())
            await giveBack(key)
            return rejection
        }
    }

    /// `{"op":"status","venue":…,"stream":…,"state":"failover","node":…}` on the stream's channel, fenced: every
    /// node's clients of the stream hear that its upstream moved here; a snapshot follows.
    private func publishTakeover(_ key: StreamKey, names: StreamLeaseNames, token: String) async {
        var w = JSONWriter(capacity: 160)
        w.beginObject()
        w.key("op")
        w.string("status")
        w.key("venue")
        w.string(key.venue.rawValue)
        w.key("stream")
        w.string(key.streamName(brand: brand))
        w.key("state")
        w.string("failover")
        w.key("node")
        w.string(nodeId)
        w.endObject()
        _ = try? await redis.send(
            RedisStreamLeases.fencedPublish(
                names, token: token, seq: nil, payload: ByteBuffer(bytes: w.bytes), lastValue: nil,
                sharded: keyspace.clustered))
    }

    /// The exchange refused a stream this node holds: `{"op":"rejected","stream":…,"reason":…,"node":…}` on its
    /// channel, so that every node's clients of it hear the exchange's words (this node's heard them already).
    func publishRejection(_ key: StreamKey, reason: String) async {
        guard let held = ledger.owned[key] else { return }
        var w = JSONWriter(capacity: 200)
        w.beginObject()
        w.key("op")
        w.string("rejected")
        w.key("stream")
        w.string(key.streamName(brand: brand))
        w.key("reason")
        w.string(reason)
        w.key("node")
        w.string(nodeId)
        w.endObject()
        _ = try? await redis.send(
            RedisStreamLeases.fencedPublish(
                held.names, token: held.token, seq: nil, payload: ByteBuffer(bytes: w.bytes), lastValue: nil,
                sharded: keyspace.clustered))
    }

    /// The lease is gone (renewal refused, a fenced publish refused): stop publishing and unsubscribe now.
    private func lost(_ key: StreamKey, why: String) async {
        guard let held = ledger.drop(key) else { return }
        fences.remove(key)
        leasesLost += 1
        logger.warning("lost the lease of \(key.argument) (\(why)): stopped publishing it, unsubscribing upstream")
        guard let pool = upstream.pool(for: key.venue) else { return }
        let carried = await pool.carries(key)
        if held.poolHeld || carried { await pool.releaseNow(key) }
    }

    /// Nobody wants the stream and the pool no longer carries it: the lease goes back.
    private func giveBack(_ key: StreamKey) async {
        guard let held = ledger.drop(key) else { return }
        fences.remove(key)
        // Never free while this pool still carries it: another node would subscribe beside it.
        if held.poolHeld { await upstream.pool(for: key.venue)?.releaseNow(key) }
        _ = try? await leases.release(held.names, token: held.token)
        logger.info("released \(key.argument) upstream")
    }

    // MARK: - The tick

    func runTick() async {
        // 1. This node's demand, and everyone's.
        do {
            let live = try await demand.renew(ledger.local.keys.map(member), ttlMs: ttlMs)
            ledger.clusterDemand(
                Set(
                    live.compactMap { member -> StreamKey? in
                        guard let argument = ClusterDemand.parse(member)?.argument,
                            case .success(let key) = StreamArgument.parse(argument, defaultVenue: .bybitLinear)
                        else { return nil }
                        return key
                    }))
        } catch {
            // Redis is away: nothing is renewed, and nothing published (the writer fails); a lease that expired
            // meanwhile refuses this node's publishes once Redis is back, and the next tick finds it lost.
            return
        }
        // 2. Renew what this node holds.
        let held = ledger.renewals
        if let renewed = try? await leases.renew(held.map { ($0.names, $0.token) }, ttlMs: ttlMs) {
            for (item, ok) in zip(held, renewed) where ledger.holds(item.key, token: item.token) {
                if !ok { await lost(item.key, why: "renewal refused") }
            }
        }
        // 3. Take the free leases of wanted streams.
        await acquire(ledger.unownedWanted)
        // 4. Held streams follow the cluster's demand.
        var carried: Set<StreamKey> = []
        for (key, owned) in ledger.owned where !owned.poolHeld && !ledger.clusterWanted.contains(key) {
            if await upstream.pool(for: key.venue)?.carries(key) ?? false { carried.insert(key) }
        }
        for step in ledger.plan(carried: { carried.contains($0) }) {
            switch step {
            case .holdPool(let key, let token):
                guard ledger.holds(key, token: token) else { continue }
                // Not awaited: an exchange slow to acknowledge must not hold up the next tick's renewals.
                Task { _ = await self.holdPool(key, token: token) }
            case .releasePool(let key):
                ledger.releasedPool(key)
                await upstream.pool(for: key.venue)?.release(key)
            case .giveBack(let key):
                await giveBack(key)
            }
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.runTick()
                try? await Task.sleep(for: self.tick)
            }
        }
        await leaveCluster()
    }

    /// Shutdown: the leases go back at once (another node takes the streams without waiting for the TTL) and this
    /// node's demand is withdrawn. The pools stopped before this runs (services stop in reverse order).
    private func leaveCluster() async {
        for (key, _) in ledger.owned {
            fences.remove(key)
            guard let held = ledger.drop(key) else { continue }
            _ = try? await leases.release(held.names, token: held.token, clean: false)
        }
        for key in ledger.local.keys { try? await demand.remove(member(key)) }
    }
}
