import Foundation
public import Logging
public import ServiceLifecycle
public import TickplexConfig
public import TickplexModel
public import TickplexVenues

/// All upstream connections of one venue endpoint: reference-counted streams, topics spread over as few
/// connections as the venue's per-connection limits allow, linger before an upstream unsubscribe, and refusals
/// reported per stream. Run it as a `Service`: it expires lingering topics and stops every connection at shutdown.
public actor UpstreamPool: Service {
    private struct Slot {
        let connection: UpstreamConnection
        let route: String
        var topics: Set<String> = []
    }

    public let venue: Venue
    private let baseURL: WebSocketURL
    private let timing: UpstreamTiming
    private let budgets: UpstreamBudgets
    private let logger: Logger
    private let onNotice: @Sendable (UpstreamNotice) -> Void
    private let codec: VenueCodec
    private var table: SubscriptionTable
    private let keyMap = TopicKeyMap()
    /// What the venue lists: an unlisted symbol is refused here, before any upstream request.
    private let catalogue: InstrumentCatalogue?
    /// USD-M tickers merged across the connections that carry their parts.
    private let tickerMerge = SharedTickerMerge()
    /// Binance: what a make-before-break switch delivers twice is delivered once.
    private let dedupe: SharedDeduplicator?
    /// Binance deep books: the REST depth snapshot.
    private let fetchDepth: (@Sendable (Venue, String) async throws -> DepthSnapshot)?
    private var slots: [Int: Slot] = [:]
    private var nextSlot = 1
    /// Topic → its slot.
    private var placement: [String: Int] = [:]

    public init(
        venue: Venue, url: WebSocketURL, linger: Duration, timing: UpstreamTiming = .init(),
        budgets: UpstreamBudgets = .init(), catalogue: InstrumentCatalogue? = nil,
        fetchDepth: (@Sendable (Venue, String) async throws -> DepthSnapshot)? = nil, logger: Logger,
        onNotice: @escaping @Sendable (UpstreamNotice) -> Void
    ) {
        self.venue = venue
        self.fetchDepth = fetchDepth
        self.catalogue = catalogue
        self.dedupe = venue == .binanceSpot || venue == .binanceUSDM ? SharedDeduplicator() : nil
        self.baseURL = url
        self.timing = timing
        self.budgets = budgets
        self.logger = logger
        self.onNotice = onNotice
        self.codec = VenueCodec(venue: venue)
        self.table = SubscriptionTable(lingerMs: linger.milliseconds)
    }

    /// Why the venue's catalogue refuses `key` (not listed, not trading), or nil: checked before anything is spent
    /// on the stream (a client's new-stream budget, a place under MAX_UPSTREAM_STREAMS).
    public nonisolated func listingRefusal(_ key: StreamKey) -> VenueRejection? { catalogue?.refusal(for: key) }

    /// One more local subscriber of `key`. Fails at once when the venue cannot serve it (the reason says why);
    /// a refusal by the exchange itself arrives later as `.rejected`. A key may need several topics (a USD-M ticker
    /// merges three); they are held together and the first is returned.
    @discardableResult
    public func ensureSubscribed(_ key: StreamKey) -> Result<String, VenueRejection> {
        if let refusal = catalogue?.refusal(for: key) { return .failure(refusal) }
        let topics: [String]
        switch codec.topics(for: key) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let t): topics = t
        }
        // A topic new to the node takes a place under MAX_UPSTREAM_STREAMS (returned when it is unsubscribed or
        // refused); one already carried, even lingering, costs the exchange nothing. All or none.
        let new = topics.filter { !table.contains(topic: $0) }
        var taken = 0
        while taken < new.count, budgets.takeStream() { taken += 1 }
        guard taken == new.count else {
            for _ in 0..<taken { budgets.returnStream() }
            return .failure(
                VenueRejection(
                    "this node already holds its maximum of \(budgets.limits.maxStreams) upstream streams "
                        + "(MAX_UPSTREAM_STREAMS); try again when others are released"))
        }
        for topic in topics {
            keyMap.add(key, topic: topic)
            for action in table.acquire(key, topic: topic, now: Self.nowMs()) {
                if case .subscribe(let t) = action { place(t) }
            }
            // Keys kept publishing through the topic's linger stop now that the topic is wanted again by others.
            for lingering in keyMap.keys(topic) where table.count(of: lingering, topic: topic) == 0 {
                keyMap.remove(lingering, topic: topic)
            }
        }
        return .success(topics[0])
    }

    /// Whether the node carries all of `key`'s topics now (wanted or lingering): subscribing it costs the exchange
    /// nothing.
    public func carries(_ key: StreamKey) -> Bool {
        guard case .success(let topics) = codec.topics(for: key) else { return false }
        return topics.allSatisfy { table.contains(topic: $0) }
    }

    /// One fewer subscriber; the upstream unsubscribe waits for the linger. While a topic lingers its events are
    /// still decoded, stored and published (only the fan-out is idle), so the last value stays fresh for a quote
    /// or a client coming back; its keys leave the map when the topic is unsubscribed. A key whose topic other keys
    /// still want (another book depth) stops at once.
    public func release(_ key: StreamKey) {
        guard case .success(let topics) = codec.topics(for: key) else { return }
        if key.kind == .ticker, table.count(of: key, topic: topics[0]) <= 1 { tickerMerge.forget(key.symbol) }
        for topic in topics {
            table.release(key, topic: topic, now: Self.nowMs())
            if table.count(of: key, topic: topic) == 0 && !table.isLingering(topic: topic) {
                keyMap.remove(key, topic: topic)
            }
        }
        scheduleExpiry()
    }

    /// One fewer subscriber, and no linger: the topics nobody else on this node wants are unsubscribed now. For a
    /// stream whose cluster lease this node lost: another node is taking it over and the exchange must not see
    /// it subscribed twice for longer than it takes to send the unsubscribe.
    public func releaseNow(_ key: StreamKey) async {
        release(key)
        guard case .success(let topics) = codec.topics(for: key) else { return }
        for topic in topics where table.dropLingering(topic: topic) {
            budgets.returnStream()
            await unplace(topic)
        }
    }

    /// Unsubscribes topics whose linger ran out, then waits for the next one. Runs when a linger ends (see
    /// `scheduleExpiry`); tests may call it directly.
    public func expireLingering() async {
        for action in table.expire(now: Self.nowMs()) {
            if case .unsubscribe(let topic) = action {
                budgets.returnStream()
                await unplace(topic)
            }
        }
        expiryAt = nil
        scheduleExpiry()
    }

    /// The one timer of the pool: it wakes when the earliest linger ends (no polling); a release whose linger
    /// ends sooner moves it earlier.
    private var expiry: Task<Void, Never>?
    private var expiryAt: Int64?

    private func scheduleExpiry() {
        guard let next = table.nextExpiry, expiryAt.map({ next < $0 }) ?? true else { return }
        expiry?.cancel()
        expiryAt = next
        let delay = max(0, next - Self.nowMs())
        expiry = Task {
            do {
                try await Task.sleep(for: .milliseconds(delay))
            } catch {
                return
            }
            await self.expireLingering()
        }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        expiry?.cancel()
        await stopAll()
    }

    public func stopAll() async {
        for slot in slots.values { await slot.connection.stop() }
        slots.removeAll()
        placement.removeAll()
    }

    // MARK: - Placement

    private func place(_ topic: String) {
        let route = codec.route(for: topic)
        let limit = codec.maxTopicsPerConnection
        let slotId =
            slots.filter { $0.value.route == route && $0.value.topics.count < limit }.keys.sorted().first
            ?? newSlot(route: route)
        guard let connection = slots[slotId]?.connection else { return }
        slots[slotId]?.topics.insert(topic)
        placement[topic] = slotId
        Task { await connection.add([topic]) }
    }

    private func newSlot(route: String) -> Int {
        let id = nextSlot
        nextSlot += 1
        let connection = UpstreamConnection(
            id: id, venue: venue, route: route, baseURL: baseURL, timing: timing, budgets: budgets, logger: logger,
            keyMap: keyMap, tickerMerge: tickerMerge, dedupe: dedupe, fetchDepth: fetchDepth,
            onNotice: onNotice,
            onRejected: { [weak self] topics, reason in await self?.rejected(topics, reason: reason) },
            onRollover: { [weak self] id in await self?.rollover(id) })
        slots[id] = Slot(connection: connection, route: route)
        Task { await connection.start() }
        return id
    }

    /// Make-before-break (Binance ends every connection at 24 hours): a new connection takes the old one's topics,
    /// and the old one is closed only once the new one is live with every subscription acknowledged (15 s at
    /// most) and has had a moment to deliver. Meanwhile both read; the deduplicator hands each topic over where the
    /// two streams overlap, so each event goes out once and in order.
    func rollover(_ oldId: Int) async {
        guard let old = slots[oldId], !old.topics.isEmpty else { return }
        let topics = old.topics.sorted()
        let newId = newSlot(route: old.route)
        guard let fresh = slots[newId]?.connection else { return }
        slots[newId]?.topics = old.topics
        for topic in topics { placement[topic] = newId }
        slots[oldId] = nil
        dedupe?.handOver(topics, from: oldId, to: newId)
        await fresh.add(topics)
        let settled = await fresh.waitUntilSettled(timeout: .seconds(15))
        // The old connection reads on until every topic's two streams overlap (5 s at most: a quiet topic may
        // send nothing meanwhile, and then nothing is lost by releasing what waits).
        let overlapBy = ContinuousClock.now + .seconds(5)
        try? await Task.sleep(for: .milliseconds(200))
        while let dedupe, dedupe.waiting(from: oldId) > 0, ContinuousClock.now < overlapBy {
            try? await Task.sleep(for: .milliseconds(50))
        }
        await old.connection.stop()
        if let released = dedupe?.finish(from: oldId), !released.isEmpty { fresh.forwardReleased(released) }
        logger.info(
            "upstream \(venue.rawValue): connection #\(oldId) replaced by #\(newId) (\(topics.count) topics\(settled ? "" : ", not all acknowledged within 15 s"))"
        )
    }

    private func unplace(_ topic: String) async {
        keyMap.removeTopic(topic)
        dedupe?.forget(topic: topic)
        guard let slotId = placement.removeValue(forKey: topic), var slot = slots[slotId] else { return }
        slot.topics.remove(topic)
        if slot.topics.isEmpty {
            // The last topic of a connection: send the unsubscribe, then close the idle connection.
            await slot.connection.remove([topic])
            slots[slotId] = nil
            let connection = slot.connection
            // `stop` sends the pending unsubscribe before closing.
            Task { await connection.stop() }
        } else {
            slots[slotId] = slot
            await slot.connection.remove([topic])
        }
    }

    /// The exchange refused topics: every stream that asked for them hears the exchange's words.
    func rejected(_ topics: [String], reason: String) {
        for topic in topics {
            if table.contains(topic: topic) { budgets.returnStream() }
            for key in table.reject(topic: topic) { onNotice(.rejected(key, reason: reason)) }
            keyMap.removeTopic(topic)
            if let slotId = placement.removeValue(forKey: topic) { slots[slotId]?.topics.remove(topic) }
        }
    }

    // MARK: - Introspection (stats, tests)

    public var connectionCount: Int { slots.count }

    /// The connections as they are now, by id: read once, since the actor may change `slots` at every `await`.
    private var connectionsById: [(id: Int, connection: UpstreamConnection)] {
        slots.sorted { $0.key < $1.key }.map { ($0.key, $0.value.connection) }
    }

    public func connectionTopics() async -> [[String]] {
        var out: [[String]] = []
        for (_, connection) in connectionsById { out.append(await connection.topics) }
        return out
    }

    public var activeTopics: [String] { table.activeTopics }

    public struct ConnectionState: Sendable, Equatable {
        public var id: Int
        public var live: Bool
        public var topics: Int
        public var sessions: Int
        public var malformedFrames: Int
    }

    public func connectionStates() async -> [ConnectionState] {
        var out: [ConnectionState] = []
        for (id, c) in connectionsById {
            out.append(
                ConnectionState(
                    id: id, live: await c.isLive, topics: await c.topicCount, sessions: await c.sessions,
                    malformedFrames: await c.malformedFrames))
        }
        return out
    }

    public static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
