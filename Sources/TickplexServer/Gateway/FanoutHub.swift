import Foundation
import Logging
import Metrics
import NIOCore
import Synchronization
import TickplexBus
import TickplexModel
import TickplexUpstream
import TickplexVenues

/// Channel → local subscribers. One bus subscription and one upstream reference per stream per node, taken by the
/// first local subscriber and released by the last; every bus message is handed as the same buffer to every
/// subscriber's queue.
actor FanoutHub {
    private struct Stream {
        var key: StreamKey
        var clients: [Int: Subscriber] = [:] {
            didSet { byLoop = nil }
        }
        /// The newest payload this node delivered: a joining client's snapshot, in order with the updates after it.
        var last: ByteBuffer?
        /// The `seq` of `last`: a message not newer is a duplicate (a cluster's old and new owner overlapping for
        /// a moment) and is not delivered.
        var lastSeq: Int?
        /// When this node asked the exchange for it: a refusal recorded since then is this stream's.
        var requestedAt: ContinuousClock.Instant
        /// The clients grouped by event loop, rebuilt after membership changes: one hop per loop per message.
        var byLoop: [(loop: any EventLoop, outboxes: [ClientOutbox])]?
        /// Counts the passes handed to the loops: a ticker or book pass that finds a newer one already handed off
        /// is skipped (see `deliver`).
        let handedOff = HandOffCounter()

        mutating func loopGroups() -> [(loop: any EventLoop, outboxes: [ClientOutbox])] {
            if let byLoop { return byLoop }
            var groups: [ObjectIdentifier: (loop: any EventLoop, outboxes: [ClientOutbox])] = [:]
            for client in clients.values {
                let loop = client.outbox.eventLoop
                groups[ObjectIdentifier(loop), default: (loop, [])].outboxes.append(client.outbox)
            }
            let built = Array(groups.values)
            byLoop = built
            return built
        }
    }

    /// What the hub needs of a client: its queue and a way to tell it about refusals.
    struct Subscriber: Sendable {
        let outbox: ClientOutbox
        let onRejected: @Sendable (StreamKey, String) -> Void
        /// Sends close 1001 "going away" (shutdown).
        let goAway: @Sendable () async -> Void
    }

    private let brand: String
    private let keyspace: RedisKeyspace
    /// This node's name: a refusal it relayed itself is not heard twice.
    private let nodeId: String
    private let bus: any MessageBus
    private let store: any LastValueStore
    private let upstream: UpstreamPools
    /// Where the first local subscriber's wish goes: this node's pools, or the cluster's ownership.
    private let demand: any UpstreamDemand
    private let logger: Logger
    private var streams: [String: Stream] = [:]
    private var venuesByClient: [Int: [Venue: Int]] = [:]
    private var clients: [Int: Subscriber] = [:]
    /// Streams new to the node each client may cause per minute (shared with the quote route).
    private let budget: NewStreamBudget
    /// The exchange's refusals (recorded by the node as they arrive): a client joining a refused stream, or the
    /// one whose subscription was still being set up when the refusal came, hears it too.
    private let refusals: RejectionBook
    /// Frames handed to client sockets are counted once per event-loop pass.
    private let stats: GatewayStats

    /// Bus receive → handed to the last client socket of each event loop.
    private let latency: Metrics.Timer?

    init(
        brand: String, bus: any MessageBus, store: any LastValueStore, upstream: UpstreamPools,
        refusals: RejectionBook, stats: GatewayStats, latency: Metrics.Timer? = nil,
        budget: NewStreamBudget = NewStreamBudget(perMinute: 120), demand: (any UpstreamDemand)? = nil,
        keyspace: RedisKeyspace? = nil, nodeId: String = "", logger: Logger
    ) {
        self.nodeId = nodeId
        self.keyspace = keyspace ?? RedisKeyspace(brand: brand)
        self.demand = demand ?? LocalUpstreamDemand(upstream: upstream)
        self.budget = budget
        self.refusals = refusals
        self.stats = stats
        self.latency = latency
        self.brand = brand
        self.bus = bus
        self.store = store
        self.upstream = upstream
        self.logger = logger
    }

    var streamCount: Int { streams.count }
    /// The streams local clients are subscribed to.
    var streamKeys: [StreamKey] { streams.values.map(\.key) }
    var subscriptionCount: Int { streams.values.reduce(0) { $0 + $1.clients.count } }

    func register(_ id: Int, _ session: Subscriber) { clients[id] = session }

    /// Adds a client to a stream; the first local subscriber subscribes the bus channel and the upstream.
    /// Returns the venue's refusal when it cannot serve the stream.
    ///
    /// Creating and removing a stream are single-flight: while one is in progress (`transitions`), later callers
    /// for that channel wait for it to end and then look again, so there is one upstream reference and one bus
    /// subscription per live stream. No actor state is force-unwrapped across a suspension: every read after an
    /// `await` checks again.
    func subscribe(_ id: Int, _ session: Subscriber, _ key: StreamKey) async -> VenueRejection? {
        let channel = keyspace.channel(key)
        // The latest state first, as a snapshot, then updates (trades and liquidations have no state).
        let hasState = key.kind != .trade && key.kind != .liquidation
        while true {
            await waitForTransition(channel)
            guard let stream = streams[channel] else {
                // An unlisted symbol costs the client nothing: refused before its new-stream budget is spent.
                if let unlisted = upstream.pool(for: key.venue)?.listingRefusal(key) { return unlisted }
                if let refusal = budget.spend("ws:\(id)") { return VenueRejection(refusal) }
                if let rejection = await createStream(key, channel: channel) { return rejection }
                continue
            }
            guard hasState else {
                join(id, session, key, channel)
                return nil
            }
            if let last = stream.last {
                // Enqueued and joined without a suspension in between: no update can come before it or be missed.
                session.outbox.send(Self.asSnapshot(last), stream: channel, conflate: false)
                join(id, session, key, channel)
                return nil
            }
            // Nothing delivered here yet: the stored value (published by this or another node). Updates that
            // arrive while it is read are not sent to this client; the newer of the two becomes its snapshot, and
            // updates not newer than the snapshot are skipped for it (one may still be on its way through the bus).
            let stored = try? await store.get(keyspace.lastValue(key))
            // The stream's other subscribers all left while the value was read (and released it): start over.
            guard let current = streams[channel], transitions[channel] == nil else { continue }
            let candidates = [stored?.value, current.last].compactMap { $0 }
            let newest = candidates.max { (SeqPeek.seq(in: $0) ?? -1) < (SeqPeek.seq(in: $1) ?? -1) }
            if let newest {
                session.outbox.send(
                    Self.asSnapshot(newest), stream: channel, conflate: false, skipThrough: SeqPeek.seq(in: newest))
            }
            join(id, session, key, channel)
            return nil
        }
    }

    /// The first local subscriber's work: the upstream reference and the bus subscription, as one transition.
    private func createStream(_ key: StreamKey, channel: String) async -> VenueRejection? {
        guard upstream.pool(for: key.venue) != nil else { return VenueRejection("venue not configured") }
        beginTransition(channel)
        defer { endTransition(channel) }
        let requestedAt = ContinuousClock.now
        if let rejection = await demand.want(key) { return rejection }
        streams[channel] = Stream(key: key, requestedAt: requestedAt)
        do {
            try await bus.subscribe([channel])
        } catch {
            logger.warning("bus subscribe \(channel) failed: \(error); it is retried when the bus reconnects")
        }
        return nil
    }

    private func join(_ id: Int, _ session: Subscriber, _ key: StreamKey, _ channel: String) {
        guard streams[channel] != nil else { return }
        streams[channel]?.clients[id] = session
        venuesByClient[id, default: [:]][key.venue, default: 0] += 1
        if let requestedAt = streams[channel]?.requestedAt,
            let reason = refusals.reason(for: key, since: requestedAt)
        {
            session.onRejected(key, reason)
        }
    }

    func unsubscribe(_ id: Int, _ key: StreamKey) async {
        let channel = keyspace.channel(key)
        guard streams[channel]?.clients.removeValue(forKey: id) != nil else { return }
        if var venues = venuesByClient[id], let n = venues[key.venue] {
            venues[key.venue] = n > 1 ? n - 1 : nil
            venuesByClient[id] = venues
        }
        guard streams[channel]?.clients.isEmpty == true else { return }
        // The last local subscriber left: clean the stream's state, let the upstream linger start. A subscriber
        // arriving meanwhile waits for this to finish and then creates the stream anew.
        streams[channel] = nil
        beginTransition(channel)
        defer { endTransition(channel) }
        try? await bus.unsubscribe([channel])
        await demand.unwant(key)
    }

    // MARK: - Single-flight transitions

    /// Channels being created or removed, with the callers waiting for that to end.
    private var transitions: [String: [CheckedContinuation<Void, Never>]] = [:]

    private func waitForTransition(_ channel: String) async {
        while transitions[channel] != nil {
            await withCheckedContinuation(isolation: self) { transitions[channel, default: []].append($0) }
        }
    }

    private func beginTransition(_ channel: String) { transitions[channel] = [] }

    private func endTransition(_ channel: String) {
        for waiter in transitions.removeValue(forKey: channel) ?? [] { waiter.resume() }
    }

    func remove(_ id: Int, keys: [StreamKey]) async {
        for key in keys { await unsubscribe(id, key) }
        clients[id] = nil
        venuesByClient[id] = nil
        budget.forget("ws:\(id)")
    }

    /// Shutdown: every client gets close 1001, concurrently.
    func closeAllClients() async {
        let all = Array(clients.values)
        await withTaskGroup(of: Void.self) { group in
            for client in all { group.addTask { await client.goAway() } }
        }
    }

    /// A bus message: the same buffer to every local subscriber, one hop to each event loop that serves some.
    /// Hand-offs to event loops not yet run: past `maxPendingHandOffs` the listener waits for the loops, so that a
    /// node whose loops cannot keep up pushes back onto the (bounded) bus stream instead of queueing without end.
    private let pendingHandOffs = PendingCount()
    /// Bus messages not delivered because their `seq` was not newer than the stream's last.
    private(set) var duplicatesDropped = 0
    static let maxPendingHandOffs = 4_096
    /// A ticker/book pass this many passes behind its stream's newest is skipped (not 1: a loop a single message
    /// period late is no backlog).
    static let conflateBehind = 4

    /// Shared with the loops' closures, which count themselves done.
    final class PendingCount: Sendable {
        let value = Atomic<Int>(0)
    }

    /// A stream's hand-off generation, read by its loops' closures.
    final class HandOffCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    func deliver(_ message: BusMessage, receivedAt: NIODeadline = .now()) async {
        guard var stream = streams.removeValue(forKey: message.channel) else { return }
        let conflate: Bool
        if let seq = SeqPeek.seq(in: message.payload) {
            // Not newer than what was delivered: a duplicate. Seq 1 starts a stream anew (its count was lost).
            if let last = stream.lastSeq, seq <= last, seq != 1 {
                streams[message.channel] = stream
                duplicatesDropped += 1
                return
            }
            stream.last = message.payload
            stream.lastSeq = seq
            conflate = stream.key.kind == .ticker || stream.key.kind == .book
        } else {
            if let refusal = Self.relayedRefusal(message.payload) {
                streams[message.channel] = stream
                // Another node's exchange refused the stream: this node's clients hear it as if it were local.
                if refusal.node != nodeId {
                    refusals.record(stream.key, reason: refusal.reason)
                    rejected(stream.key, reason: refusal.reason)
                }
                return
            }
            // A control message on the stream (a takeover's status): never the snapshot, never conflated away.
            conflate = false
        }
        let groups = stream.loopGroups()
        streams[message.channel] = stream
        // Framed once here; every client's socket gets these same bytes.
        let (framed, channel) = (ServerTextFrame.encode(message.payload), message.channel)
        let pending = pendingHandOffs
        pending.value.add(groups.count, ordering: .relaxed)
        // Conflation at the source: when a loop runs a ticker/book pass while `conflateBehind` newer ones of the
        // same stream are already handed to it (the loops are behind: a burst larger than they can write), the
        // older pass is skipped for every client of the loop — each gets the newer state moments later, as the
        // per-client queue would have done, instead of the whole backlog in order (W4 in BENCHMARKS.md: p99 back
        // from seconds to tens of ms). Trades, klines and control messages never skip.
        let handedOff = stream.handedOff
        let generation = handedOff.value.wrappingAdd(1, ordering: .relaxed).newValue
        for group in groups {
            let outboxes = group.outboxes
            let (latency, stats) = (self.latency, self.stats)
            group.loop.execute {
                if conflate, handedOff.value.load(ordering: .relaxed) &- generation >= Self.conflateBehind {
                    stats.conflated.add(outboxes.count)
                    pending.value.subtract(1, ordering: .relaxed)
                    return
                }
                var written = 0
                for outbox in outboxes { written += outbox.offer(framed, stream: channel, conflate: conflate) }
                stats.messagesOut.add(written)
                latency?.recordNanoseconds((NIODeadline.now() - receivedAt).nanoseconds)
                pending.value.subtract(1, ordering: .relaxed)
            }
        }
        if pending.value.load(ordering: .relaxed) > Self.maxPendingHandOffs {
            // A no-op submitted behind the hand-offs completes once each loop has run them: no polling.
            for group in groups { try? await group.loop.submit {}.get() }
        }
    }

    /// `{"op":"rejected","reason":…,"node":…}` published by a stream's holder in a cluster.
    static func relayedRefusal(_ payload: ByteBuffer) -> (reason: String, node: String)? {
        guard payload.readableBytesView.starts(with: #"{"op":"rejected""#.utf8),
            let json = try? JSONParser.parse(String(buffer: payload)), let reason = json["reason"]?.string
        else { return nil }
        return (reason, json["node"]?.string ?? "")
    }

    /// The exchange refused a stream: every local subscriber hears it in the exchange's words.
    func rejected(_ key: StreamKey, reason: String) {
        let channel = keyspace.channel(key)
        guard let stream = streams[channel] else { return }
        for client in stream.clients.values { client.onRejected(key, reason) }
    }

    /// Upstream connection state changed: tell the clients that stream from that venue.
    func status(venue: Venue, state: String) {
        var w = JSONWriter(capacity: 80)
        w.beginObject()
        w.key("op")
        w.string("status")
        w.key("venue")
        w.string(venue.rawValue)
        w.key("state")
        w.string(state)
        w.endObject()
        let frame = ByteBuffer(bytes: w.bytes)
        for (id, venues) in venuesByClient where venues[venue] != nil {
            clients[id]?.outbox.send(frame, stream: nil, conflate: false)
        }
    }

    /// Stored last values are encoded as updates; a joining client gets them marked as a snapshot.
    static func asSnapshot(_ buffer: ByteBuffer) -> ByteBuffer {
        let text = String(buffer: buffer)
        guard let range = text.range(of: #""type":"update""#) else { return buffer }
        return ByteBuffer(string: text.replacingCharacters(in: range, with: #""type":"snapshot""#))
    }
}
