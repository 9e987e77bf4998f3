import TickplexModel
import TickplexVenues

/// What an upstream connection sends or does, decided by `UpstreamConnectionState` and carried out by its actor.
enum UpstreamAction: Equatable, Sendable {
    /// A subscribe/unsubscribe request.
    case sendText(String)
    /// Our JSON heartbeat (Bybit's `{"op":"ping"}`): sent ahead of queued requests.
    case sendJSONPing(String)
    /// A WebSocket ping frame (Binance: our own heartbeat, inside the 5 messages/s budget).
    case sendPing([UInt8])
    /// Tell the node's clients how this connection is (`live`, `reconnecting`).
    case status(String)
    /// The exchange refused these topics, in its words.
    case rejected([String], reason: String)
    /// The session is dead (no pong, no frame): close it; the run loop reconnects.
    case endSession(reason: String)
    /// The session nears the exchange's connection lifetime: replace it make-before-break.
    case rollover
}

/// How an upstream connection tells that its exchange still hears it.
struct UpstreamLiveness: Sendable, Equatable {
    /// Our heartbeat: Bybit's JSON `{"op":"ping"}` or a WebSocket ping frame (Binance).
    enum Ping: Sendable, Equatable {
        case json(String)
        case frame
    }
    var ping: Ping
    /// A ping goes out this often, measured from the previous ping (not from its pong).
    var intervalMs: Int64
    /// A ping with no pong within this ends the session.
    var pongTimeoutMs: Int64
    /// No frame of any kind (data, ping, pong) for this long ends the session: the path died without a FIN.
    var silenceMs: Int64
    /// The exchange ends connections at this age (Binance: 24 h); a replacement is due before. Nil: no limit.
    var rolloverAfterMs: Int64? = nil

    /// Bybit asks for a JSON ping every 20 s; Binance pings us every 20 s (spot) or 3 min (USD-M) and gets our ping
    /// frames every 10 s, so that a silent path is found in under 20 s on either.
    static func forVenue(_ venue: Venue, timing: UpstreamTiming) -> UpstreamLiveness {
        switch venue {
        case .bybitSpot, .bybitLinear, .bybitInverse:
            UpstreamLiveness(
                ping: .json(BybitAdapter.pingFrame), intervalMs: timing.pingInterval.milliseconds,
                pongTimeoutMs: timing.pongTimeout.milliseconds, silenceMs: timing.silenceTimeout.milliseconds)
        case .binanceSpot, .binanceUSDM:
            UpstreamLiveness(
                ping: .frame, intervalMs: timing.binancePingInterval.milliseconds,
                pongTimeoutMs: timing.pongTimeout.milliseconds, silenceMs: timing.silenceTimeout.milliseconds,
                rolloverAfterMs: timing.binanceSessionLifetime.milliseconds)
        }
    }
}

/// The lifecycle of one upstream connection as a pure value: the topics it should carry, the requests in flight,
/// the phase (connecting, live, backing off, stopped), the heartbeat and the reconnect backoff. The actor
/// (`UpstreamConnection`) owns one, feeds it what happens (with the time) and carries out the actions it returns;
/// tests drive it directly, with no socket and no clock.
struct UpstreamConnectionState: Sendable {
    enum Phase: Equatable, Sendable {
        case idle
        case connecting
        case live
        case backingOff
        case stopped
    }

    let codec: VenueCodec
    let liveness: UpstreamLiveness
    let backoff: Backoff
    private(set) var phase = Phase.idle
    /// Topics this connection should carry, in the order they were asked for.
    private(set) var wanted: [String] = []
    private var wantedSet: Set<String> = []
    private var pendingAdd: [String] = []
    private var pendingRemove: [String] = []
    /// A flush has been asked for and not yet made (adds and removes coalesce until then).
    private(set) var flushDue = false
    private var acks = AckQueue()
    private var nextRequestId = 1
    private(set) var sessions = 0
    /// Failed attempts in a row, for the backoff.
    private(set) var failures = 0
    private var sessionStartedAt: Int64 = 0
    private var nextPingAt: Int64 = 0
    /// When the oldest unanswered ping went out.
    private(set) var awaitingPongSince: Int64?
    /// The heartbeat declared this session dead; nothing more is due until the next one opens.
    private(set) var declaredDead = false
    /// A replacement of this session was asked for (once per session).
    private(set) var rolloverRequested = false

    init(codec: VenueCodec, liveness: UpstreamLiveness, backoff: Backoff) {
        self.codec = codec
        self.liveness = liveness
        self.backoff = backoff
    }

    var isLive: Bool { phase == .live }
    var pendingRequests: Int { acks.count }

    // MARK: - Topics

    /// Adds topics; true when a flush should be scheduled.
    mutating func add(_ topics: [String]) -> Bool {
        var new: [String] = []
        for topic in topics where wantedSet.insert(topic).inserted { new.append(topic) }
        guard !new.isEmpty else { return false }
        wanted += new
        let added = Set(new)
        pendingRemove.removeAll { added.contains($0) }
        pendingAdd += new
        return requestFlush()
    }

    /// Removes topics; true when a flush should be scheduled.
    mutating func remove(_ topics: [String]) -> Bool {
        let present = Set(topics.filter { wantedSet.contains($0) })
        guard !present.isEmpty else { return false }
        wantedSet.subtract(present)
        wanted.removeAll { present.contains($0) }
        let wasPendingAdd = Set(pendingAdd.filter { present.contains($0) })
        pendingAdd.removeAll { present.contains($0) }
        // A topic added and removed before any request went out needs no request at all.
        pendingRemove += present.subtracting(wasPendingAdd).sorted()
        return requestFlush()
    }

    private mutating func requestFlush() -> Bool {
        guard !flushDue else { return false }
        flushDue = true
        return true
    }

    /// The coalesced requests; nothing while not connected (the next session subscribes everything wanted).
    mutating func flush() -> [UpstreamAction] {
        flushDue = false
        defer {
            pendingAdd.removeAll()
            pendingRemove.removeAll()
        }
        guard phase == .live else { return [] }
        var out: [UpstreamAction] = []
        if !pendingRemove.isEmpty { out += requests(subscribe: false, pendingRemove) }
        if !pendingAdd.isEmpty { out += requests(subscribe: true, pendingAdd) }
        return out
    }

    private mutating func requests(subscribe: Bool, _ topics: [String]) -> [UpstreamAction] {
        let framed = codec.requests(subscribe: subscribe, topics: topics, firstRequestId: nextRequestId)
        nextRequestId += framed.count
        for request in framed {
            acks.sent(.init(id: request.requestId, op: subscribe ? "subscribe" : "unsubscribe", topics: request.topics))
        }
        return framed.map { .sendText($0.frame) }
    }

    // MARK: - Sessions

    /// An attempt begins: the topics that ride in the URL (Binance combined streams take the first 100).
    mutating func attemptStarting() -> [String] {
        phase = .connecting
        switch codec.venue {
        case .binanceSpot, .binanceUSDM: return Array(wanted.prefix(100))
        default: return []
        }
    }

    /// The WebSocket is open: subscribe what the URL did not carry, arm the heartbeat, say `live`.
    mutating func sessionOpened(inURL: [String], now: Int64) -> [UpstreamAction] {
        guard phase != .stopped else { return [] }
        phase = .live
        sessions += 1
        sessionStartedAt = now
        _ = acks.reset()
        pendingAdd.removeAll()
        pendingRemove.removeAll()
        nextPingAt = now + liveness.intervalMs
        awaitingPongSince = nil
        declaredDead = false
        rolloverRequested = false
        let carried = Set(inURL)
        let rest = wanted.filter { !carried.contains($0) }
        var out: [UpstreamAction] = rest.isEmpty ? [] : requests(subscribe: true, rest)
        out.append(.status("live"))
        return out
    }

    /// The session (or the attempt) ended. Returns the wait before the next attempt, or nil when stopped.
    mutating func sessionEnded(now: Int64) -> (actions: [UpstreamAction], retryAfter: Duration?) {
        let wasLive = phase == .live
        _ = acks.reset()
        awaitingPongSince = nil
        guard phase != .stopped else { return ([], nil) }
        phase = .backingOff
        // A session that lived a while resets the backoff: this is a new outage, not the same one.
        if wasLive && now - sessionStartedAt > 30_000 { failures = 0 }
        failures += 1
        return ([.status("reconnecting")], backoff.delay(attempt: failures))
    }

    /// Stops for good: the removes still pending go out first (the caller drains them before closing).
    mutating func stop() -> [UpstreamAction] {
        let out = flush()
        phase = .stopped
        return out
    }

    // MARK: - Heartbeat

    /// A pong came (Bybit's JSON pong or a pong frame).
    mutating func pongReceived() { awaitingPongSince = nil }

    /// Called at (or after) `nextHeartbeatDue`, with when the last frame of any kind arrived: pings due, or the
    /// session declared dead.
    mutating func heartbeat(now: Int64, lastFrameAt: Int64) -> [UpstreamAction] {
        guard phase == .live, !declaredDead else { return [] }
        if let since = awaitingPongSince, now - since >= liveness.pongTimeoutMs {
            declaredDead = true
            return [.endSession(reason: "no pong within \(liveness.pongTimeoutMs) ms")]
        }
        let heardAt = max(lastFrameAt, sessionStartedAt)
        if now - heardAt >= liveness.silenceMs {
            declaredDead = true
            return [.endSession(reason: "no frame of any kind for \(now - heardAt) ms")]
        }
        var out: [UpstreamAction] = []
        if let lifetime = liveness.rolloverAfterMs, !rolloverRequested, now - sessionStartedAt >= lifetime {
            rolloverRequested = true
            out.append(.rollover)
        }
        guard now >= nextPingAt else { return out }
        // The next ping is due one interval after this one was due, so a late wake-up does not stretch the cadence;
        // a wake-up more than an interval late starts again from now.
        nextPingAt += liveness.intervalMs
        if nextPingAt <= now { nextPingAt = now + liveness.intervalMs }
        if awaitingPongSince == nil { awaitingPongSince = now }
        switch liveness.ping {
        case .json(let text): out.append(.sendJSONPing(text))
        case .frame: out.append(.sendPing(Array("tickplex".utf8)))
        }
        return out
    }

    /// When `heartbeat` should next be called.
    func nextHeartbeatDue(lastFrameAt: Int64) -> Int64? {
        guard phase == .live, !declaredDead else { return nil }
        var due = min(nextPingAt, max(lastFrameAt, sessionStartedAt) + liveness.silenceMs)
        if let since = awaitingPongSince { due = min(due, since + liveness.pongTimeoutMs) }
        if let lifetime = liveness.rolloverAfterMs, !rolloverRequested { due = min(due, sessionStartedAt + lifetime) }
        return due
    }

    // MARK: - Acks and resyncs

    /// A subscribe/unsubscribe acknowledgement.
    mutating func ack(requestId: String?, success: Bool, message: String) -> [UpstreamAction] {
        guard
            case .failed(let request, let rejected, let retry, let reason) = acks.received(
                requestId: requestId, success: success, message: message), request.op == "subscribe"
        else { return [] }
        if rejected.isEmpty {
            // Nobody named (Binance refuses a whole request without saying which stream): the request is split in
            // halves, again on each failing half, so k bad topics among n cost about 2k·log2(n) requests, not n.
            let again = retry.filter { wantedSet.contains($0) }
            guard again.count > 1 else { return again.isEmpty ? [] : requests(subscribe: true, again) }
            let half = again.count / 2
            return requests(subscribe: true, Array(again[..<half])) + requests(subscribe: true, Array(again[half...]))
        }
        let refused = Set(rejected)
        wantedSet.subtract(refused)
        wanted.removeAll { refused.contains($0) }
        var out: [UpstreamAction] = []
        let again = retry.filter { wantedSet.contains($0) }
        if !again.isEmpty { out += requests(subscribe: true, again) }
        out.append(.rejected(rejected, reason: reason))
        return out
    }

    /// A gap in a book: subscribe the topic again for a fresh snapshot.
    mutating func resync(topic: String) -> [UpstreamAction] {
        guard phase == .live, wantedSet.contains(topic) else { return [] }
        return requests(subscribe: false, [topic]) + requests(subscribe: true, [topic])
    }
}
