import Foundation
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import TickplexConfig
import TickplexModel
import TickplexVenues

enum UpstreamError: Error, CustomStringConvertible {
    case closedByServer
    case serverShutdown
    case badMessage(String)
    case dead(String)

    var description: String {
        switch self {
        case .closedByServer: "closed by the exchange"
        case .serverShutdown: "the exchange announced a shutdown"
        case .badMessage(let reason): "the exchange sent a bad message: \(reason)"
        case .dead(let reason): reason
        }
    }
}

/// A frame the session's writer sends, in order, within the venue's message budget.
enum UpstreamOutbound: Sendable {
    case text(String)
    case ping([UInt8])
    case pong(ByteBuffer)
}

/// One WebSocket to an exchange endpoint. Its lifecycle — topics, requests in flight, heartbeat, backoff — is the
/// pure `UpstreamConnectionState`; this actor owns one, feeds it what the socket and the clock say and carries out
/// what it decides. Every decoded event goes to `onNotice` straight from the reader (no hop through the actor).
actor UpstreamConnection {
    let id: Int
    let venue: Venue
    let route: String
    private let baseURL: WebSocketURL
    private let timing: UpstreamTiming
    private let budgets: UpstreamBudgets
    private let logger: Logger
    private let keyMap: TopicKeyMap
    private let tickerMerge: SharedTickerMerge
    /// Binance: events already delivered by another connection of the pool (a make-before-break switch).
    private let dedupe: SharedDeduplicator?
    /// Binance diff-depth books: fetches a REST snapshot (nil: no REST, deep books are not served).
    private let fetchDepth: (@Sendable (Venue, String) async throws -> DepthSnapshot)?
    private let onNotice: @Sendable (UpstreamNotice) -> Void
    private let onRejected: @Sendable ([String], String) async -> Void
    /// The session nears the exchange's connection lifetime: the pool opens a replacement (make-before-break).
    private let onRollover: @Sendable (Int) async -> Void
    /// Callers waiting for the session to be live with every request answered.
    private var settledWaiters: [CheckedContinuation<Void, Never>] = []
    /// Framing and limits of the venue (stateless parts; each session decodes with its own copy).
    private let codec: VenueCodec

    private var state: UpstreamConnectionState
    /// Subscribe and unsubscribe requests, in order.
    private var outbox: AsyncStream<UpstreamOutbound>.Continuation?
    /// Heartbeat frames: our pings (JSON or frame) and the pongs the exchange's pings ask for.
    private var controlOutbox: AsyncStream<UpstreamOutbound>.Continuation?
    /// Ends the live session (heartbeat verdict or stop): the session's task group watches it.
    private var endSession: AsyncStream<String>.Continuation?
    private var runTask: Task<Void, Never>?
    /// When the last frame of any kind arrived (ms since 1970): written by the reader, read by the heartbeat.
    private let lastFrameAt = Atomic<Int64>(0)
    private(set) var malformedFrames = 0

    init(
        id: Int, venue: Venue, route: String, baseURL: WebSocketURL, timing: UpstreamTiming,
        budgets: UpstreamBudgets, logger: Logger, keyMap: TopicKeyMap, tickerMerge: SharedTickerMerge,
        dedupe: SharedDeduplicator? = nil,
        fetchDepth: (@Sendable (Venue, String) async throws -> DepthSnapshot)? = nil,
        onNotice: @escaping @Sendable (UpstreamNotice) -> Void,
        onRejected: @escaping @Sendable ([String], String) async -> Void,
        onRollover: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.id = id
        self.venue = venue
        self.route = route
        self.baseURL = baseURL
        self.timing = timing
        self.budgets = budgets
        self.logger = logger
        self.keyMap = keyMap
        self.tickerMerge = tickerMerge
        self.dedupe = dedupe
        self.fetchDepth = fetchDepth
        self.onNotice = onNotice
        self.onRejected = onRejected
        self.onRollover = onRollover
        self.codec = VenueCodec(venue: venue)
        self.state = UpstreamConnectionState(
            codec: codec, liveness: .forVenue(venue, timing: timing), backoff: timing.backoff)
    }

    var topicCount: Int { state.wanted.count }
    var topics: [String] { state.wanted }
    var isLive: Bool { state.isLive }
    var sessions: Int { state.sessions }

    func start() {
        guard runTask == nil else { return }
        runTask = Task { await self.runLoop() }
    }

    /// Stops for good. Pending unsubscribes are sent first: the writer drains what is queued, the session ends and
    /// the run loop sees the stop — awaited as it happens, for 1.5 s at most; only then is anything cancelled.
    func stop() async {
        let live = state.isLive
        perform(state.stop())
        outbox?.finish()
        guard let run = runTask else { return }
        guard live else {
            // No session to drain (connecting or backing off): stop now.
            run.cancel()
            await run.value
            return
        }
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await run.value
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(1500))
                return false
            }
            if await group.next() == false { run.cancel() }
            group.cancelAll()
        }
    }

    /// Adds topics. Adds and removes that arrive together (a burst of client subscribes) are coalesced for a few
    /// milliseconds and sent as few requests as the venue's limits allow.
    func add(_ topics: [String]) {
        if state.add(topics) { scheduleFlush() }
    }

    func remove(_ topics: [String]) {
        if state.remove(topics) { scheduleFlush() }
    }

    private func scheduleFlush() {
        Task {
            try? await Task.sleep(for: .milliseconds(20))
            self.flush()
        }
    }

    private func flush() { perform(state.flush()) }

    /// Carries out what the state decided.
    private func perform(_ actions: [UpstreamAction]) {
        for action in actions {
            switch action {
            case .sendText(let text): outbox?.yield(.text(text))
            case .sendJSONPing(let text): controlOutbox?.yield(.text(text))
            case .sendPing(let payload): controlOutbox?.yield(.ping(payload))
            case .status(let s): onNotice(.status(venue: venue, connection: id, state: s))
            case .rejected(let topics, let reason):
                logger.warning("upstream \(venue.rawValue)#\(id): refused \(topics): \(reason)")
                let onRejected = self.onRejected
                Task { await onRejected(topics, reason) }
            case .endSession(let reason):
                logger.warning("upstream \(venue.rawValue)#\(id): \(reason); replacing the connection")
                endSession?.yield(reason)
            case .rollover:
                logger.info(
                    "upstream \(venue.rawValue)#\(id): nearing the exchange's connection lifetime; replacing it")
                let (onRollover, id) = (self.onRollover, self.id)
                Task { await onRollover(id) }
            }
        }
        resumeSettledIfReady()
    }

    private func resumeSettledIfReady() {
        if state.isLive && state.pendingRequests == 0 { resumeAllSettled() }
    }

    /// Waits until the session is live and every request it sent is answered, for `timeout` at most; true when so.
    func waitUntilSettled(timeout: Duration) async -> Bool {
        if state.isLive && state.pendingRequests == 0 { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.settled()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            if !first { self.resumeAllSettled() }
            return first
        }
    }

    private func settled() async {
        if state.isLive && state.pendingRequests == 0 { return }
        await withCheckedContinuation { settledWaiters.append($0) }
    }

    private func resumeAllSettled() {
        for waiter in settledWaiters { waiter.resume() }
        settledWaiters.removeAll()
    }

    // MARK: - Session lifecycle

    private func url(inURL: [String]) -> WebSocketURL {
        switch venue {
        case .binanceSpot, .binanceUSDM:
            // Combined streams: every frame names its stream. The first topics ride in the URL (no request needed).
            baseURL.appendingPath(route + "/stream?streams=" + inURL.joined(separator: "/"))
        default:
            baseURL
        }
    }

    private func runLoop() async {
        while state.phase != .stopped && !Task.isCancelled {
            // Every attempt, first or reconnect, of every connection of the node counts against the exchange's
            // per-IP rule: past the budget the attempt waits rather than risk a ban for every user of the node.
            let wait = budgets.reserveAttempt(venue: venue, url: baseURL, now: UpstreamPool.nowMs())
            if wait > .zero {
                logger.warning(
                    "upstream \(venue.rawValue)#\(id): connection-attempt budget spent; next attempt in \(wait)")
                try? await Task.sleep(for: wait)
                if state.phase == .stopped || Task.isCancelled { break }
            }
            let inURL = state.attemptStarting()
            do {
                let channel = try await UpstreamSocket.connect(
                    url: url(inURL: inURL), maxFrameSize: 1 << 24, timeout: timing.handshakeTimeout)
                try await session(channel, inURL: inURL)
            } catch is CancellationError {
            } catch {
                logger.warning("upstream \(venue.rawValue)#\(id): \(error)", metadata: ["url": "\(baseURL)"])
            }
            outbox?.finish()
            outbox = nil
            controlOutbox?.finish()
            controlOutbox = nil
            endSession = nil
            let (actions, retryAfter) = state.sessionEnded(now: UpstreamPool.nowMs())
            perform(actions)
            guard let retryAfter, !Task.isCancelled else { break }
            try? await Task.sleep(for: retryAfter)
        }
    }

    private func opened(
        _ frames: AsyncStream<UpstreamOutbound>.Continuation, _ controls: AsyncStream<UpstreamOutbound>.Continuation,
        _ ends: AsyncStream<String>.Continuation, inURL: [String]
    ) {
        outbox = frames
        controlOutbox = controls
        endSession = ends
        lastFrameAt.store(UpstreamPool.nowMs(), ordering: .relaxed)
        perform(state.sessionOpened(inURL: inURL, now: UpstreamPool.nowMs()))
        // Stopped while the handshake was in flight: nothing to carry.
        if state.phase == .stopped { frames.finish() }
    }

    private func heartbeatDue() -> Int64? { state.nextHeartbeatDue(lastFrameAt: lastFrameAt.load(ordering: .relaxed)) }

    private func heartbeat() {
        perform(state.heartbeat(now: UpstreamPool.nowMs(), lastFrameAt: lastFrameAt.load(ordering: .relaxed)))
    }

    private func enqueueControl(_ frame: UpstreamOutbound) { controlOutbox?.yield(frame) }

    /// Runs one connected session until it fails, the heartbeat ends it or the connection stops; the caller
    /// reconnects.
    private func session(_ channel: UpstreamSocket.Channel, inURL: [String]) async throws {
        let (frames, frameInput) = AsyncStream.makeStream(of: UpstreamOutbound.self)
        let (controls, controlInput) = AsyncStream.makeStream(of: UpstreamOutbound.self)
        let (ends, endInput) = AsyncStream.makeStream(of: String.self)
        opened(frameInput, controlInput, endInput, inURL: inURL)
        let limit = codec.maxRequestsPerWindow
        try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Everything we send counts against the venue's message budget, pongs and pings included. Two
                // writers share it: heartbeat frames (ours and the pongs the exchange asks for) may use all of it,
                // requests leave one place free, so a pong never waits behind a queue of subscribe requests.
                let budget = limit.map { SendBudget(limit: $0.count, windowMs: $0.windowMs) }
                group.addTask {
                    for await frame in frames {
                        try await budget?.take(share: (budget?.limit ?? 1) - 1)
                        if case .text(let text) = frame {
                            try await outbound.write(UpstreamSocket.frame(.text, ByteBuffer(string: text)))
                        }
                    }
                    // Stopped: what was queued is out; say goodbye.
                    var close = ByteBuffer()
                    close.write(webSocketErrorCode: .normalClosure)
                    try? await outbound.write(UpstreamSocket.frame(.connectionClose, close))
                }
                group.addTask {
                    for await frame in controls {
                        try await budget?.take(share: budget?.limit ?? 1)
                        switch frame {
                        case .text(let text):
                            try await outbound.write(UpstreamSocket.frame(.text, ByteBuffer(string: text)))
                        case .ping(let p): try await outbound.write(UpstreamSocket.frame(.ping, ByteBuffer(bytes: p)))
                        case .pong(let p): try await outbound.write(UpstreamSocket.frame(.pong, p))
                        }
                    }
                }
                group.addTask {
                    // The heartbeat wakes when the state says something is due, not on a fixed tick.
                    while true {
                        try Task.checkCancellation()
                        guard let due = await self.heartbeatDue() else { return }
                        let wait = due - UpstreamPool.nowMs()
                        if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
                        await self.heartbeat()
                    }
                }
                group.addTask {
                    for await reason in ends { throw UpstreamError.dead(reason) }
                }
                group.addTask {
                    try await self.read(inbound)
                }
                // Whichever part ends first ends the session. The socket is closed here, not only when the group
                // is left: a reader blocked on a dead path would otherwise keep the group (and the session) open.
                defer {
                    channel.channel.close(promise: nil)
                    group.cancelAll()
                }
                try await group.next()
            }
        }
    }

    /// The reader: every frame stamps the watchdog; pings are answered (through the budgeted writer), text
    /// messages are assembled within bounds, decoded and delivered.
    private nonisolated func read(_ inbound: NIOAsyncChannelInboundStream<WebSocketFrame>) async throws {
        // A fresh decoding state per session: the exchange restarts every topic with a snapshot.
        let decoder = SessionDecoder(venue: venue)
        defer { decoder.end() }
        // The exchange is a peer too: its messages are assembled within bounds (a flood of fragments is a
        // broken connection, replaced like any other).
        var assembler = BoundedMessageAssembler(maxBytes: 1 << 24, maxFragments: 1_024)
        for try await frame in inbound {
            // recvTs: when the frame arrived, not when the publisher gets to it.
            let arrivedAt = UpstreamPool.nowMs()
            lastFrameAt.store(arrivedAt, ordering: .relaxed)
            let text: String
            switch frame.opcode {
            case .ping:
                await enqueueControl(.pong(frame.unmaskedData))
                continue
            case .pong:
                await pongReceived()
                continue
            case .connectionClose:
                throw UpstreamError.closedByServer
            case .text, .binary, .continuation:
                switch assembler.receive(frame) {
                case .pending, .binary: continue
                case .text(let t): text = t
                case .close(_, let reason): throw UpstreamError.badMessage(reason)
                }
            default:
                throw UpstreamError.badMessage("reserved opcode \(frame.opcode)")
            }
            let outcome = decoder.decode(text, receivedAt: arrivedAt) { event in
                var event = event
                // recvTs: when the frame arrived.
                event.receivedAt = arrivedAt
                deliver(event)
            }
            if let error = outcome.error { await malformed(error, frame: text) }
            for m in outcome.messages {
                if case .serverShutdown = m { throw UpstreamError.serverShutdown }
                await control(m, decoder: decoder)
            }
        }
        throw UpstreamError.closedByServer
    }

    private func pongReceived() { state.pongReceived() }

    /// Re-keys an event for every stream its topic serves (a depth-50 topic can serve book:10 and book:50).
    private nonisolated func deliver(_ event: MarketEvent) {
        guard case .success(let topic) = codec.topic(for: event.key) else { return }
        let keys = keyMap.keys(topic)
        guard !keys.isEmpty else { return }
        // The merged USD-M ticker's parts come from three streams under one topic: they are not deduplicated.
        let mergedPart = venue == .binanceUSDM && event.key.kind == .ticker
        guard let dedupe, !mergedPart else { return forward(event, keys: keys) }
        let (pass, released) = dedupe.admit(topic: topic, connection: id, event)
        if pass { forward(event, keys: keys) }
        for e in released { forward(e, keys: keys) }
    }

    /// Events released by the pool when a hand-over ends with events still waiting (the old connection stopped).
    nonisolated func forwardReleased(_ events: [(topic: String, event: MarketEvent)]) {
        for (topic, event) in events {
            let keys = keyMap.keys(topic)
            if !keys.isEmpty { forward(event, keys: keys) }
        }
    }

    private nonisolated func forward(_ event: MarketEvent, keys: Set<StreamKey>) {
        var event = event
        if venue == .binanceUSDM, case .ticker(let part) = event.payload {
            guard let merged = tickerMerge.apply(part, exchangeTime: event.exchangeTime) else { return }
            event.payload = .ticker(merged)
        }
        // A topic can serve keys of several kinds (a USD-M book ticker feeds book:1 and the merged ticker): each
        // event goes to the keys of its own kind.
        for key in keys where key.kind == event.key.kind {
            var e = event
            e.key = key
            if case .book(var book) = e.payload, let depth = key.depth,
                book.bids.count > depth || book.asks.count > depth
            {
                book.bids = Array(book.bids.prefix(depth))
                book.asks = Array(book.asks.prefix(depth))
                e.payload = .book(book)
            }
            onNotice(.event(e))
        }
    }

    private func malformed(_ error: any Error, frame: String) {
        malformedFrames += 1
        logger.warning("upstream \(venue.rawValue)#\(id): malformed frame skipped: \(error): \(frame.prefix(200))")
    }

    private func control(_ message: VenueMessage, decoder: SessionDecoder) {
        switch message {
        case .pong:
            state.pongReceived()
        case .ack(let requestId, let success, let text):
            perform(state.ack(requestId: requestId, success: success, message: text))
        case .depthSnapshotNeeded(let stream, let symbol, let reason):
            logger.info("upstream \(venue.rawValue)#\(id): \(stream): \(reason); fetching a depth snapshot")
            guard let fetchDepth else { return }
            let venue = self.venue
            Task {
                // Within the REST budget; a failure is tried again a few times, then the next gap asks anew.
                for attempt in 1...4 {
                    do {
                        let snapshot = try await fetchDepth(venue, symbol)
                        let outcome = decoder.apply(snapshot, stream: stream, receivedAt: UpstreamPool.nowMs()) {
                            self.deliver($0)
                        }
                        if let error = outcome.error { malformed(error, frame: "depth snapshot of \(stream)") }
                        for m in outcome.messages { control(m, decoder: decoder) }
                        return
                    } catch {
                        logger.warning("upstream \(venue.rawValue): depth snapshot of \(symbol) failed: \(error)")
                        try? await Task.sleep(for: .seconds(attempt * 2))
                    }
                }
            }
        case .resync(let key, let reason):
            // A gap in the book: subscribe again for a fresh snapshot.
            guard case .success(let topic) = codec.topic(for: key) else { return }
            logger.info("upstream \(venue.rawValue)#\(id): \(reason); resubscribing \(topic)")
            perform(state.resync(topic: topic))
        default:
            break
        }
    }

}
