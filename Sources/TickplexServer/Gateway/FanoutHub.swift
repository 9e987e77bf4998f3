import Logging
import Metrics
import NIOCore
import TickplexBus
import TickplexCore
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
        /// When this node asked the exchange for it: a refusal recorded since then is this stream's.
        var requestedAt: ContinuousClock.Instant
        /// The clients grouped by event loop, rebuilt after membership changes: one hop per loop per message.
        var byLoop: [(loop: any EventLoop, outboxes: [ClientOutbox])]?

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
    private let bus: any MessageBus
    private let store: any LastValueStore
    private let upstream: UpstreamPools
    private let logger: Logger
    private var streams: [String: Stream] = [:]
    private var venuesByClient: [Int: [Venue: Int]] = [:]
    private var clients: [Int: Subscriber] = [:]
    /// The exchange's refusals (recorded by the node as they arrive): a client joining a refused stream, or the
    /// one whose subscription was still being set up when the refusal came, hears it too.
    private let refusals: RejectionBook
    /// Frames handed to client sockets are counted once per event-loop pass.
    private let stats: GatewayStats

    /// Bus receive → handed to the last client socket of each event loop.
    private let latency: Metrics.Timer?

    init(
        brand: String, bus: any MessageBus, store: any LastValueStore, upstream: UpstreamPools,
        refusals: RejectionBook, stats: GatewayStats, latency: Metrics.Timer? = nil, logger: Logger
    ) {
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
    var subscriptionCount: Int { streams.values.reduce(0) { $0 + $1.clients.count } }

    func register(_ id: Int, _ session: Subscriber) { clients[id] = session }

    /// Adds a client to a stream; the first local subscriber subscribes the bus channel and the upstream.
    /// Returns the venue's refusal when it cannot serve the stream.
    func subscribe(_ id: Int, _ session: Subscriber, _ key: StreamKey) async -> VenueRejection? {
        let channel = key.channel(brand: brand)
        // A loop because the actor is re-entered at each await: another client may create (or its last subscriber
        // remove) the stream meanwhile; exactly one upstream reference and bus subscription per live stream.
        while streams[channel] == nil {
            guard let pool = upstream.pool(for: key.venue) else { return VenueRejection("venue not configured") }
            let requestedAt = ContinuousClock.now
            if case .failure(let rejection) = await pool.ensureSubscribed(key) { return rejection }
            guard streams[channel] == nil else {
                await pool.release(key)
                break
            }
            streams[channel] = Stream(key: key, requestedAt: requestedAt)
            do {
                try await bus.subscribe([channel])
            } catch {
                logger.warning("bus subscribe \(channel) failed: \(error); it is retried when the bus reconnects")
            }
        }
        // The latest state first, as a snapshot, then updates (trades and liquidations have no state).
        let hasState = key.kind != .trade && key.kind != .liquidation
        guard hasState else {
            join(id, session, key, channel)
            return nil
        }
        if let last = streams[channel]!.last {
            // Enqueued and joined without a suspension in between: no update can come before it or be missed.
            session.outbox.send(Self.asSnapshot(last), stream: channel, conflate: false)
            join(id, session, key, channel)
            return nil
        }
        // Nothing delivered here yet: the stored value (published by this or another node). Updates that arrive
        // while it is read are not sent to this client; the newer of the two becomes its snapshot, and updates
        // not newer than the snapshot are skipped for it (one may still be on its way through the bus).
        let stored = try? await store.get(EventPublisher.lastValueKey(key, brand: brand))
        // The stream's other subscribers all left while the value was read (and released it): start over.
        guard streams[channel] != nil else { return await subscribe(id, session, key) }
        let candidates = [stored?.value, streams[channel]!.last].compactMap { $0 }
        let newest = candidates.max { (SeqPeek.seq(in: $0) ?? -1) < (SeqPeek.seq(in: $1) ?? -1) }
        if let newest {
            session.outbox.send(
                Self.asSnapshot(newest), stream: channel, conflate: false, skipThrough: SeqPeek.seq(in: newest))
        }
        join(id, session, key, channel)
        return nil
    }

    private func join(_ id: Int, _ session: Subscriber, _ key: StreamKey, _ channel: String) {
        streams[channel]!.clients[id] = session
        venuesByClient[id, default: [:]][key.venue, default: 0] += 1
        if let reason = refusals.reason(for: key, since: streams[channel]!.requestedAt) {
            session.onRejected(key, reason)
        }
    }

    func unsubscribe(_ id: Int, _ key: StreamKey) async {
        let channel = key.channel(brand: brand)
        guard streams[channel]?.clients.removeValue(forKey: id) != nil else { return }
        if var venues = venuesByClient[id], let n = venues[key.venue] {
            venues[key.venue] = n > 1 ? n - 1 : nil
            venuesByClient[id] = venues
        }
        if streams[channel]?.clients.isEmpty == true {
            // The last local subscriber left: clean the stream's state, let the upstream linger start.
            streams[channel] = nil
            try? await bus.unsubscribe([channel])
            await upstream.pool(for: key.venue)?.release(key)
        }
    }

    func remove(_ id: Int, keys: [StreamKey]) async {
        for key in keys { await unsubscribe(id, key) }
        clients[id] = nil
        venuesByClient[id] = nil
    }

    /// Shutdown: every client gets close 1001, concurrently.
    func closeAllClients() async {
        let all = Array(clients.values)
        await withTaskGroup(of: Void.self) { group in
            for client in all { group.addTask { await client.goAway() } }
        }
    }

    /// A bus message: the same buffer to every local subscriber, one hop to each event loop that serves some.
    func deliver(_ message: BusMessage, receivedAt: NIODeadline = .now()) {
        guard streams[message.channel] != nil else { return }
        streams[message.channel]!.last = message.payload
        let kind = streams[message.channel]!.key.kind
        let conflate = kind == .ticker || kind == .book
        // Framed once here; every client's socket gets these same bytes.
        let (framed, channel) = (ServerTextFrame.encode(message.payload), message.channel)
        for group in streams[message.channel]!.loopGroups() {
            let outboxes = group.outboxes
            let (latency, stats) = (self.latency, self.stats)
            group.loop.execute {
                var written = 0
                for outbox in outboxes { written += outbox.offer(framed, stream: channel, conflate: conflate) }
                stats.messagesOut.add(written)
                latency?.recordNanoseconds((NIODeadline.now() - receivedAt).nanoseconds)
            }
        }
    }

    /// The exchange refused a stream: every local subscriber hears it in the exchange's words.
    func rejected(_ key: StreamKey, reason: String) {
        let channel = key.channel(brand: brand)
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
