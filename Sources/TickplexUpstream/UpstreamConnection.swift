import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import TickplexCore
import TickplexVenues

enum UpstreamError: Error, CustomStringConvertible {
    case pongTimeout(Duration)
    case closedByServer
    case serverShutdown
    case handshakeTimeout(Duration)
    case badMessage(String)

    var description: String {
        switch self {
        case .handshakeTimeout(let d): "no WebSocket upgrade within \(d)"
        case .pongTimeout(let d): "no pong within \(d)"
        case .closedByServer: "closed by the exchange"
        case .serverShutdown: "the exchange announced a shutdown"
        case .badMessage(let reason): "the exchange sent a bad message: \(reason)"
        }
    }
}

/// One WebSocket to an exchange endpoint: keeps its topics subscribed across reconnects, matches acks, sends
/// heartbeats, reconnects with exponential backoff and jitter, and hands every decoded event to `onNotice`.
actor UpstreamConnection {
    let id: Int
    let venue: Venue
    let route: String
    private let baseURL: WebSocketURL
    private let timing: UpstreamTiming
    private let budgets: UpstreamBudgets
    private let logger: Logger
    private let keyMap: TopicKeyMap
    private let onNotice: @Sendable (UpstreamNotice) -> Void
    private let onRejected: @Sendable ([String], String) async -> Void
    /// Framing, limits and heartbeat of the venue (stateless parts; each session decodes with its own copy).
    private let codec: VenueCodec

    private var wanted: [String] = []
    private var pendingAdd: [String] = []
    private var pendingRemove: [String] = []
    private var flushScheduled = false
    private var acks = AckQueue()
    private var nextRequestId = 1
    private var outbox: AsyncStream<String>.Continuation?
    private var lastPong = ContinuousClock.now
    private var stopped = false
    private var runTask: Task<Void, Never>?
    private var currentAttempt: Task<WebSocketCloseFrame?, any Error>?
    private(set) var isLive = false
    private(set) var malformedFrames = 0
    private(set) var sessions = 0

    init(
        id: Int, venue: Venue, route: String, baseURL: WebSocketURL, timing: UpstreamTiming,
        budgets: UpstreamBudgets, logger: Logger, keyMap: TopicKeyMap,
        onNotice: @escaping @Sendable (UpstreamNotice) -> Void,
        onRejected: @escaping @Sendable ([String], String) async -> Void
    ) {
        self.id = id
        self.venue = venue
        self.route = route
        self.baseURL = baseURL
        self.timing = timing
        self.budgets = budgets
        self.logger = logger
        self.keyMap = keyMap
        self.onNotice = onNotice
        self.onRejected = onRejected
        self.codec = VenueCodec(venue: venue)
    }

    var topicCount: Int { wanted.count }
    var topics: [String] { wanted }

    func start() {
        guard runTask == nil else { return }
        runTask = Task { await self.runLoop() }
    }

    /// Stops for good. Pending unsubscribes are sent first: the writer drains what is queued, the session ends and
    /// the run loop sees `stopped` — awaited as it happens, for 1.5 s at most; only then is anything cancelled.
    func stop() async {
        stopped = true
        flush()
        let live = outbox != nil
        outbox?.finish()
        guard let run = runTask else { return }
        guard live else {
            // No session to drain (connecting or backing off): stop now.
            currentAttempt?.cancel()
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
            if await group.next() == false {
                currentAttempt?.cancel()
                run.cancel()
            }
            group.cancelAll()
        }
    }

    /// Adds topics. Adds and removes that arrive together (a burst of client subscribes) are coalesced for a few
    /// milliseconds and sent as few requests as the venue's limits allow.
    func add(_ topics: [String]) {
        let new = topics.filter { !wanted.contains($0) }
        guard !new.isEmpty else { return }
        wanted += new
        pendingRemove.removeAll { new.contains($0) }
        pendingAdd += new
        scheduleFlush()
    }

    func remove(_ topics: [String]) {
        let present = topics.filter { wanted.contains($0) }
        guard !present.isEmpty else { return }
        wanted.removeAll { present.contains($0) }
        pendingAdd.removeAll { present.contains($0) }
        pendingRemove += present
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        Task {
            try? await Task.sleep(for: .milliseconds(20))
            self.flush()
        }
    }

    private func flush() {
        flushScheduled = false
        // Not connected: `sessionStarted` subscribes everything wanted anyway.
        guard outbox != nil else {
            pendingAdd.removeAll()
            pendingRemove.removeAll()
            return
        }
        if !pendingRemove.isEmpty { send(subscribe: false, pendingRemove) }
        if !pendingAdd.isEmpty { send(subscribe: true, pendingAdd) }
        pendingAdd.removeAll()
        pendingRemove.removeAll()
    }

    private func send(subscribe: Bool, _ topics: [String]) {
        for request in codec.requests(subscribe: subscribe, topics: topics, firstRequestId: nextRequestId) {
            nextRequestId += 1
            acks.sent(.init(id: request.requestId, op: subscribe ? "subscribe" : "unsubscribe", topics: request.topics))
            outbox?.yield(request.frame)
        }
    }

    // MARK: - Session lifecycle

    private func url() -> (String, inURL: [String]) {
        switch venue {
        case .binanceSpot, .binanceUSDM:
            // Combined streams: every frame names its stream. The first topics ride in the URL (no request needed).
            let inURL = Array(wanted.prefix(100))
            let base = baseURL.appendingPath(route + "/stream?streams=" + inURL.joined(separator: "/"))
            return (base.description, inURL)
        default:
            return (baseURL.description, [])
        }
    }

    private func runLoop() async {
        var attempt = 0
        while !stopped && !Task.isCancelled {
            // Every attempt, first or reconnect, of every connection of the node counts against the exchange's
            // per-IP rule: past the budget the attempt waits rather than risk a ban for every user of the node.
            let wait = budgets.reserveAttempt(venue: venue, url: baseURL, now: UpstreamPool.nowMs())
            if wait > .zero {
                logger.warning(
                    "upstream \(venue.rawValue)#\(id): connection-attempt budget spent; next attempt in \(wait)")
                try? await Task.sleep(for: wait)
                if stopped || Task.isCancelled { break }
            }
            let (url, inURL) = url()
            let started = ContinuousClock.now
            let sessionNumber = sessions
            do {
                let attempt = Task {
                    try await WebSocketClient.connect(
                        url: url,
                        configuration: .init(maxFrameSize: 1 << 24, closeTimeout: self.timing.closeTimeout),
                        logger: self.logger
                    ) { inbound, outbound, _ in
                        try await self.session(inbound: inbound, outbound: outbound, inURL: inURL)
                    }
                }
                currentAttempt = attempt
                // The WebSocket client has no handshake timeout and ignores cancellation before the upgrade, so a
                // server that accepts TCP but never upgrades would hold this loop forever. Race the attempt against a
                // watchdog; a lost race abandons the attempt (it ends when the server closes the socket).
                let finished = await Self.race(attempt, timeout: timing.handshakeTimeout) {
                    await self.sessions != sessionNumber
                }
                currentAttempt = nil
                if !finished { throw UpstreamError.handshakeTimeout(timing.handshakeTimeout) }
                _ = try await attempt.value
            } catch is CancellationError {
            } catch {
                logger.warning(
                    "upstream \(venue.rawValue)#\(id): \(error)", metadata: ["url": "\(baseURL)"])
            }
            sessionEnded()
            if stopped || Task.isCancelled { break }
            onNotice(.status(venue: venue, connection: id, state: "reconnecting"))
            // A session that lived a while resets the backoff: this is a new outage, not the same one.
            attempt = ContinuousClock.now - started > .seconds(30) ? 1 : attempt + 1
            let delay = timing.backoff.delay(attempt: attempt)
            try? await Task.sleep(for: delay)
        }
    }

    private func sessionStarted(_ continuation: AsyncStream<String>.Continuation, inURL: [String]) {
        outbox = continuation
        _ = acks.reset()
        lastPong = .now
        sessions += 1
        isLive = true
        let urlTopics = Set(inURL)
        let rest = wanted.filter { !urlTopics.contains($0) }
        pendingAdd.removeAll()
        pendingRemove.removeAll()
        if !rest.isEmpty { send(subscribe: true, rest) }
        onNotice(.status(venue: venue, connection: id, state: "live"))
    }

    private func sessionEnded() {
        outbox?.finish()
        outbox = nil
        isLive = false
        _ = acks.reset()
    }

    private func pongReceived() { lastPong = .now }

    private func pongSince(_ instant: ContinuousClock.Instant) -> Bool { lastPong >= instant }

    private func enqueue(_ frame: String) { outbox?.yield(frame) }

    /// Runs one connected session until it fails; the caller reconnects.
    private nonisolated func session(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, inURL: [String]
    ) async throws {
        let (frames, continuation) = AsyncStream.makeStream(of: String.self)
        await sessionStarted(continuation, inURL: inURL)
        let limit = codec.maxRequestsPerWindow
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var limiter = limit.map { SendRateLimiter(limit: $0.count, windowMs: $0.windowMs) }
                for await frame in frames {
                    if var l = limiter {
                        let now = Self.nowMs()
                        let next = l.nextAllowed(now: now)
                        if next > now { try await Task.sleep(for: .milliseconds(next - now)) }
                        l.record(now: Self.nowMs())
                        limiter = l
                    }
                    try await outbound.write(.text(frame))
                }
            }
            if let ping = codec.pingFrame {
                let timing = self.timing
                group.addTask {
                    while true {
                        try await Task.sleep(for: timing.pingInterval)
                        let sentAt = ContinuousClock.now
                        await self.enqueue(ping)
                        try await Task.sleep(for: timing.pongTimeout)
                        guard await self.pongSince(sentAt) else { throw UpstreamError.pongTimeout(timing.pongTimeout) }
                    }
                }
            }
            group.addTask {
                // A fresh decoding state per session: the exchange restarts every topic with a snapshot.
                var codec = VenueCodec(venue: self.venue)
                // The exchange is a peer too: its messages are assembled within bounds (a flood of fragments is a
                // broken connection, replaced like any other).
                var assembler = BoundedMessageAssembler(maxBytes: 1 << 24, maxFragments: 1_024)
                for try await frame in inbound {
                    // recvTs: when the frame arrived, not when the publisher gets to it.
                    let arrivedAt = Self.nowMs()
                    let text: String
                    switch assembler.receive(frame.opcode, data: frame.data, fin: frame.fin) {
                    case .pending, .binary: continue
                    case .text(let t): text = t
                    case .close(_, let reason): throw UpstreamError.badMessage(reason)
                    }
                    let decoded: [VenueMessage]
                    do {
                        decoded = try codec.decode(text, receivedAt: arrivedAt)
                    } catch {
                        await self.malformed(error, frame: text)
                        continue
                    }
                    for m in decoded {
                        switch m {
                        case .event(var event):
                            event.receivedAt = arrivedAt
                            self.deliver(event, codec: codec)
                        case .ignored: continue
                        case .serverShutdown: throw UpstreamError.serverShutdown
                        default: await self.control(m, codec: codec)
                        }
                    }
                }
                throw UpstreamError.closedByServer
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Re-keys an event for every stream its topic serves (a depth-50 topic can serve book:10 and book:50).
    private nonisolated func deliver(_ event: MarketEvent, codec: VenueCodec) {
        guard case .success(let topic) = codec.topic(for: event.key) else { return }
        let keys = keyMap.keys(topic)
        guard !keys.isEmpty else { return }
        for key in keys {
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

    private func control(_ message: VenueMessage, codec: VenueCodec) async {
        switch message {
        case .pong:
            pongReceived()
        case .ack(let requestId, let success, let text):
            switch acks.received(requestId: requestId, success: success, message: text) {
            case .failed(let request, let rejected, let retry, let reason):
                guard request.op == "subscribe" else { break }
                if rejected.isEmpty {
                    // Nobody named: one request per topic finds which one the exchange refuses.
                    for topic in retry where wanted.contains(topic) { send(subscribe: true, [topic]) }
                    break
                }
                wanted.removeAll { rejected.contains($0) }
                logger.warning("upstream \(venue.rawValue)#\(id): refused \(rejected): \(reason)")
                if !retry.isEmpty { send(subscribe: true, retry.filter { wanted.contains($0) }) }
                await onRejected(rejected, reason)
            case .confirmed, .unmatched:
                break
            }
        case .resync(let key, let reason):
            // A gap in the book: subscribe again for a fresh snapshot.
            guard case .success(let topic) = codec.topic(for: key), wanted.contains(topic) else { return }
            logger.info("upstream \(venue.rawValue)#\(id): \(reason); resubscribing \(topic)")
            send(subscribe: false, [topic])
            send(subscribe: true, [topic])
        default:
            break
        }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// True when `task` finishes, false when `timeout` passes first and `started()` is still false.
    static func race<T: Sendable>(
        _ task: Task<T, any Error>, timeout: Duration, started: @escaping @Sendable () async -> Bool
    ) async -> Bool {
        let once = Once()
        return await withCheckedContinuation { continuation in
            Task {
                _ = try? await task.value
                if once.claim() { continuation.resume(returning: true) }
            }
            Task {
                try? await Task.sleep(for: timeout)
                if await !started(), once.claim() { continuation.resume(returning: false) }
            }
        }
    }
}

/// A flag that can be claimed once, from any thread.
final class Once: Sendable {
    private let claimed = Mutex(false)
    func claim() -> Bool {
        claimed.withLock { value in
            defer { value = true }
            return !value
        }
    }
}
