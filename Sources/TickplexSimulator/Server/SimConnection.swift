import Foundation
import NIOCore
import NIOWebSocket
import TickplexModel
import TickplexVenues

/// One simulated exchange connection: answers the control protocol, streams data for what is subscribed,
/// sends Binance ping frames, enforces Binance's inbound rate, and obeys the simulator's faults.
final class SimConnection: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let id: Int
    let path: String
    let endpoint: ExchangeSimulator.Endpoint
    let simulator: ExchangeSimulator
    private var context: ChannelHandlerContext?
    private var bybit: BybitSimSession?
    private var bybitFeed: BybitSimFeed?
    private var binanceFeed: BinanceSimFeed?
    private var binanceStreams: [String] = []
    private var subscriptionLog: [SimSubscriptionChange] = []
    private var loggedTopics: Set<String> = []
    /// Per stream, the last tape frame sent on this connection.
    private var binanceCursors: [String: Int64] = [:]
    private var combined = false
    private var timer: RepeatedTask?
    private var pingTimer: RepeatedTask?
    private var inbound = SendRateLimiter(limit: 1_000_000)
    private var maxInbound = 0
    private var requests: [String] = []
    private var pingFramesSent = 0
    /// Bounded: a long-lived connection keeps the last 1,000.
    private var clientPingTimes: [Int64] = []
    private var pongsReceived = 0
    private var oldestUnansweredPing: Int64?
    private var closeCode: Int?
    private var open = true
    var stalled = false

    init(id: Int, path: String, endpoint: ExchangeSimulator.Endpoint, simulator: ExchangeSimulator) {
        self.id = id
        self.path = path
        self.endpoint = endpoint
        self.simulator = simulator
        switch endpoint {
        case .bybit(let category):
            bybit = BybitSimSession(category: category, connectionId: "sim-\(id)", symbols: simulator.symbols)
            bybitFeed = BybitSimFeed(category: category, framesPerCandle: simulator.configuration.framesPerCandle)
        case .binance(let usdm, let combined, let streams):
            let route: BinanceSimFeed.Route? =
                path.contains("/public/") ? .public : path.contains("/market/") ? .market : nil
            binanceFeed = BinanceSimFeed(usdm: usdm, route: route)
            self.combined = combined
            binanceStreams = streams.filter(BinanceSimFeed.isValid)
        }
    }

    var info: SimConnectionInfo {
        let venue: String
        switch endpoint {
        case .bybit(let c): venue = "bybit.\(c.rawValue)"
        case .binance(let usdm, _, _): venue = usdm ? "binance.usdm" : "binance.spot"
        }
        return SimConnectionInfo(
            id: id, path: path, venue: venue, subscribed: bybit?.subscribed ?? binanceStreams,
            requests: bybit?.requests ?? requests, pingsReceived: bybit?.pingsReceived ?? 0,
            pingFramesSent: pingFramesSent, pongsReceived: pongsReceived, maxInboundPerSecond: maxInbound, open: open,
            closeCode: closeCode, clientPingTimes: clientPingTimes, subscriptionLog: subscriptionLog)
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Records what changed in the subscribed set since the last call (`closed`: everything ends now).
    private func noteSubscriptions(closed: Bool = false) {
        let current = closed ? [] : Set(bybit?.subscribed ?? binanceStreams)
        let now = Self.now()
        for topic in loggedTopics.subtracting(current).sorted() {
            subscriptionLog.append(.init(topic: topic, at: now, subscribed: false))
        }
        for topic in current.subtracting(loggedTopics).sorted() {
            subscriptionLog.append(.init(topic: topic, at: now, subscribed: true))
        }
        loggedTopics = current
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        noteSubscriptions()
        var period = TimeAmount.nanoseconds(1_000_000_000 / Int64(max(simulator.configuration.framesPerSecond, 1)))
        if simulator.configuration.randomPhase { period = .nanoseconds(period.nanoseconds / Int64(SimPhase.slots)) }
        slotLength = period
        // The timers run on this connection's loop; NIOLoopBound proves the handler never leaves it.
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        // 0 frames per second: quiet topics (the first frame on subscribe only), for idle-connection workloads.
        if simulator.configuration.framesPerSecond > 0 {
            timer = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
                bound.value.tick()
            }
        }
        if binanceFeed != nil, let lifetime = simulator.configuration.binanceConnectionLifetimeSeconds {
            // The planned cut: Binance ends every connection at 24 hours.
            context.eventLoop.scheduleTask(in: .nanoseconds(Int64(lifetime * 1_000_000_000))) {
                bound.value.close(code: .goingAway, reason: "connection lifetime reached")
            }
        }
        if binanceFeed != nil {
            let ping = TimeAmount.nanoseconds(Int64(simulator.configuration.pingSeconds * 1_000_000_000))
            pingTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: ping, delay: ping) { _ in
                bound.value.sendPing()
            }
        }
    }

    private func sendPing() {
        guard !stalled, let context else { return }
        let now = Self.now()
        if let unanswered = oldestUnansweredPing,
            Double(now - unanswered) > simulator.configuration.pongTimeoutSeconds * 1000
        {
            close(code: .policyViolation, reason: "pong timeout")
            return
        }
        if oldestUnansweredPing == nil { oldestUnansweredPing = now }
        pingFramesSent += 1
        write(WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(string: "\(Self.now())")))
    }

    func channelInactive(context: ChannelHandlerContext) {
        open = false
        noteSubscriptions(closed: true)
        timer?.cancel()
        pingTimer?.cancel()
        simulator.closed(self)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if binanceFeed != nil {
            // Binance counts every inbound message, pings and pongs included: over 5 per second closes with 1008.
            let now = Self.now()
            inbound.record(now: now)
            maxInbound = max(maxInbound, inbound.count(now: now))
            if inbound.count(now: now) > BinanceAdapter.maxMessagesPerSecond {
                close(code: .policyViolation, reason: "Too many requests")
                return
            }
        }
        switch frame.opcode {
        case .text:
            var data = frame.unmaskedData
            let text = data.readString(length: data.readableBytes) ?? ""
            if stalled { return }
            if bybit != nil { handleBybit(text) } else { handleBinance(text) }
            noteSubscriptions()
        case .ping:
            recordClientPing()
            if !stalled { write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)) }
        case .pong:
            pongsReceived += 1
            oldestUnansweredPing = nil
        case .connectionClose:
            close(code: .normalClosure, reason: nil)
        default:
            break
        }
    }

    // MARK: Bybit

    private func recordClientPing() {
        clientPingTimes.append(Self.now())
        if clientPingTimes.count > 1_000 { clientPingTimes.removeFirst(clientPingTimes.count - 1_000) }
    }

    private func handleBybit(_ text: String) {
        guard var session = bybit else { return }
        let pingsBefore = session.pingsReceived
        let outcome = session.handle(text)
        bybit = session
        if session.pingsReceived > pingsBefore { recordClientPing() }
        // Linear: the data of a new topic may arrive before its ack (as recorded). Spot acks first.
        if case .bybit(let category) = endpoint, category != .spot {
            for topic in outcome.newTopics { sendBybitData(topic) }
            for reply in outcome.replies { sendText(reply) }
        } else {
            for reply in outcome.replies { sendText(reply) }
            for topic in outcome.newTopics { sendBybitData(topic) }
        }
        for topic in outcome.removedTopics { bybitFeed?.remove(topic) }
    }

    private func sendBybitData(_ topic: String) {
        guard var feed = bybitFeed else { return }
        if let frame = simulator.nextFrame(bybit: topic, feed: &feed, now: Self.now()) { sendText(frame) }
        bybitFeed = feed
    }

    // MARK: Binance

    private func handleBinance(_ text: String) {
        requests.append(text)
        guard let json = try? JSONParser.parse(text), case .object = json else {
            sendText(#"{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"},"id":null}"#)
            return
        }
        let id = json["id"].map { $0.isNull ? "null" : ($0.string.map { "\"\($0)\"" } ?? $0.text ?? "null") } ?? "null"
        guard let method = json["method"]?.string else {
            sendText(#"{"error":{"code":2,"msg":"Invalid request: missing field method"},"id":\#(id)}"#)
            return
        }
        let params = json["params"]?.array?.compactMap(\.string) ?? []
        switch method {
        case "SUBSCRIBE":
            guard params.allSatisfy(BinanceSimFeed.isValid) else {
                sendText(#"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":\#(id)}"#)
                return
            }
            let new = params.filter { !binanceStreams.contains($0) }
            guard binanceStreams.count + new.count <= BinanceAdapter.maxStreamsPerConnection else {
                sendText(#"{"error":{"code":4,"msg":"Too many subscriptions"},"id":\#(id)}"#)
                return
            }
            binanceStreams += new
            sendText(#"{"result":null,"id":\#(id)}"#)
        case "UNSUBSCRIBE":
            binanceStreams.removeAll { params.contains($0) }
            for stream in params { binanceCursors[stream] = nil }
            sendText(#"{"result":null,"id":\#(id)}"#)
        case "LIST_SUBSCRIPTIONS":
            let list = binanceStreams.map { "\"\($0)\"" }.joined(separator: ",")
            sendText(#"{"result":[\#(list)],"id":\#(id)}"#)
        default:
            sendText(
                #"{"error":{"code":2,"msg":"Invalid request: unknown variant \#(method), expected one of SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY"},"id":\#(id)}"#
            )
        }
    }

    // MARK: Data

    private var slot = 0
    private var slotLength = TimeAmount.zero
    private var nextSlotAt: NIODeadline?

    private func tick() {
        guard simulator.configuration.randomPhase else { return send { _ in true } }
        // Slots by the clock, not by timer fires (a repeated task's delay drifts by its own run time, which would
        // offer less than the configured rate); more than two slots late, it resynchronises instead of bursting.
        let now = NIODeadline.now()
        var next = nextSlotAt ?? now
        if now - next > .nanoseconds(slotLength.nanoseconds * 2) { next = now }
        while next <= now {
            slot = (slot + 1) % SimPhase.slots
            let due = slot
            send { SimPhase.of($0) == due }
            next = next + slotLength
        }
        nextSlotAt = next
    }

    /// `frames` extra ticks of every topic, evenly spread over `seconds`.
    func burst(frames: Int, seconds: Double) {
        guard let context, frames > 0 else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        for i in 0..<frames {
            context.eventLoop.scheduleTask(in: .nanoseconds(Int64(Double(i) * seconds * 1e9 / Double(frames)))) {
                bound.value.send { _ in true }
            }
        }
    }

    private func send(_ due: (String) -> Bool) {
        guard open, !stalled else { return }
        let now = Self.now()
        if let topics = bybit?.subscribed {
            for topic in topics where due(topic) { sendBybitData(topic) }
        } else if let feed = binanceFeed {
            for stream in binanceStreams where feed.delivers(stream) && due(stream) {
                let (frames, cursor) = simulator.binanceFrames(
                    stream, usdm: feed.usdm, after: binanceCursors[stream], now: now)
                binanceCursors[stream] = cursor
                for payload in frames {
                    sendText(combined ? #"{"stream":"\#(stream)","data":\#(payload)}"# : payload)
                }
            }
        }
    }

    func freshSnapshot() {
        for topic in bybit?.subscribed ?? [] { bybitFeed?.resetSnapshot(topic) }
    }

    func skipUpdateId() {
        for topic in bybit?.subscribed ?? [] where topic.hasPrefix("orderbook.") { bybitFeed?.skipUpdateId(topic) }
    }

    // MARK: Writing

    func sendText(_ text: String) {
        guard let context, open else { return }
        write(WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(string: text)))
    }

    /// A hostile exchange: a text message that never finishes, `count` empty continuation frames long.
    func sendFragmentFlood(count: Int) {
        guard let context, open else { return }
        context.write(
            wrapOutboundOut(
                WebSocketFrame(fin: false, opcode: .text, data: context.channel.allocator.buffer(capacity: 0))),
            promise: nil)
        for _ in 0..<count {
            context.write(
                wrapOutboundOut(
                    WebSocketFrame(
                        fin: false, opcode: .continuation, data: context.channel.allocator.buffer(capacity: 0))),
                promise: nil)
        }
        context.flush()
    }

    private func write(_ frame: WebSocketFrame) {
        guard let context, open else { return }
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    func close(code: WebSocketErrorCode, reason: String?) {
        guard let context, open else { return }
        var data = context.channel.allocator.buffer(capacity: 2 + (reason?.utf8.count ?? 0))
        data.write(webSocketErrorCode: code)
        if let reason { data.writeString(reason) }
        closeCode = Int(UInt16(webSocketErrorCode: code))
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
            .whenComplete { _ in channel.close(promise: nil) }
        open = false
    }

    func drop() {
        context?.close(promise: nil)
    }
}
