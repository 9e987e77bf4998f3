import Foundation
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import TickplexProtocol
import TickplexUpstream
import TickplexVenues

/// One `/ws` client, as a channel handler on its connection's event loop: no task, no async channel and no
/// buffers of its own while the client is connected (issue 12: Hummingbird's WebSocket route cost ~29 KiB per
/// connection for those; a handler costs what its fields cost). Client frames → whole messages (bounded) →
/// `ClientSession` → replies through the `ClientOutbox` and hub actions; pings and the close handshake by
/// `ClientLink`. Hub actions (subscribe, unsubscribe, leave) go to the hub actor in order, one short task per
/// action (never per data message), each after the one before.
final class ClientChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Hub actions not finished yet past which the client's socket is not read: a client cannot pile up tasks
    /// faster than the hub completes them (the old reader awaited each one).
    static let maxPendingHubActions = 16

    struct Settings: Sendable {
        var maxMessageBytes: Int
        var maxFragments: Int
        var pingPeriod: TimeAmount
        /// How long the client has to answer our close frame once it was written.
        var closeTimeout: TimeAmount
        /// How long a close frame may wait for a client that does not read (CLIENT_WRITE_STALL_S).
        var writeStall: TimeAmount
        var maxQueueBytes: Int
    }

    let id: Int
    private let hub: FanoutHub
    private let settings: Settings
    private let stats: GatewayStats
    private let logger: Logger
    private let grant: ClientGrant?
    private let session: SessionBox
    private var link: ClientLink
    private var assembler: BoundedMessageAssembler
    private var outbox: ClientOutbox?
    private var subscriber: FanoutHub.Subscriber?
    private var context: ChannelHandlerContext?
    /// The last hub action handed to the hub: the next one waits for it.
    private var lastHubAction: Task<Void, Never>?
    /// Hub actions handed out and not finished (they finish in order: when none is left, the last one is done).
    private var pendingHubActions = 0
    /// A read the channel asked for while too many hub actions were pending: issued once they drain.
    private var heldRead = false
    private var pingTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private var expiryTimer: Scheduled<Void>?
    private var ended = false

    init(
        id: Int, hub: FanoutHub, session: ClientSession, grant: ClientGrant?, settings: Settings,
        stats: GatewayStats, logger: Logger
    ) {
        self.id = id
        self.hub = hub
        self.session = SessionBox(session)
        self.grant = grant
        self.settings = settings
        self.stats = stats
        self.logger = logger
        link = ClientLink(seed: UInt64.random(in: .min ... .max))
        assembler = BoundedMessageAssembler(maxBytes: settings.maxMessageBytes, maxFragments: settings.maxFragments)
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
        let outbox = ClientOutbox(
            id: id, channel: context.channel, maxBytes: settings.maxQueueBytes, writeStall: settings.writeStall,
            stats: stats
        ) {
            // Overflow (on the loop): 4008 goes out behind what the socket already holds; a client that never
            // reads again is cut by the write-stall rule.
            loop.value.startClose(code: 4008, reason: "slow consumer")
        }
        self.outbox = outbox
        let (hub, session, id) = (hub, session, id)
        let subscriber = FanoutHub.Subscriber(
            outbox: outbox,
            onRejected: { key, reason in
                let output = session.state.withLock { $0.subscriptionError(key, reason: reason) }
                for reply in output.replies { outbox.send(ByteBuffer(string: reply), stream: nil, conflate: false) }
                for case .unsubscribe(let k) in output.actions { Task { await hub.unsubscribe(id, k) } }
            },
            goAway: {
                // Shutdown: 1001 to every client; returns once the close frame is on its way.
                try? await loop.eventLoop.submit {
                    loop.value.startClose(code: 1001, reason: "server shutting down")
                }.get()
            })
        self.subscriber = subscriber
        stats.clients.add(1)
        toHub { await hub.register(id, subscriber) }
        schedulePing(context: context)
        // An expired token ends the connection: 4001 with the reason.
        if let expiresAt = grant?.expiresAt {
            let delay = TimeAmount.milliseconds(Int64(max(0, expiresAt.timeIntervalSinceNow) * 1000))
            expiryTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self] in
                self?.startClose(code: 4001, reason: "token expired")
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end()
        self.context = nil
    }

    /// Once, when the connection is gone: the client leaves every stream it was on.
    private func end() {
        guard !ended else { return }
        ended = true
        _ = link.close()
        outbox?.close()
        for timer in [pingTimer, closeTimer, expiryTimer] { timer?.cancel() }
        stats.clients.add(-1)
        let keys = session.state.withLock { $0.closeAll() }
        let (hub, id) = (hub, id)
        toHub { await hub.remove(id, keys: keys) }
        // The outbox's overflow callback holds this handler: let go of it (the hub drops the subscriber).
        outbox = nil
        subscriber = nil
    }

    /// Hub actions in the order the client caused them: each waits for the one before.
    private func toHub(_ action: @escaping @Sendable () async -> Void) {
        guard let loop = context?.eventLoop else { return }
        let previous = lastHubAction
        pendingHubActions += 1
        let handler = NIOLoopBound(self, eventLoop: loop)
        lastHubAction = Task {
            await previous?.value
            await action()
            handler.eventLoop.execute { handler.value.hubActionDone() }
        }
    }

    private func hubActionDone() {
        pendingHubActions -= 1
        // An idle client keeps no finished task (a task's storage is kept while a handle to it is).
        if pendingHubActions == 0 { lastHubAction = nil }
        if heldRead, pendingHubActions < Self.maxPendingHubActions, let context {
            heldRead = false
            context.read()
        }
    }

    /// Reads wait while the hub is behind on this client's actions (see `maxPendingHubActions`).
    func read(context: ChannelHandlerContext) {
        if pendingHubActions >= Self.maxPendingHubActions {
            heldRead = true
            return
        }
        context.read()
    }

    // MARK: Frames from the client

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            // A client that sends pings and does not read gets no pongs piling up here: when the socket is full
            // the ping goes unanswered (RFC 6455 lets an endpoint answer only the latest one). Control frames are
            // short and unfragmented (the frame decoder refuses others).
            guard link.phase == .open, context.channel.isWritable else { return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            link.receivedPong(frame.unmaskedData)
        case .connectionClose:
            closeReceived(frame.unmaskedData, context: context)
        case .text, .binary, .continuation:
            guard link.phase == .open else { return }
            // No extension is negotiated, so no reserved bit may be set.
            guard frame.reservedBits.isEmpty else {
                startClose(code: 1002, reason: "reserved bits set")
                return
            }
            switch assembler.receive(frame) {
            case .pending: break
            case .text(let text):
                let now = Self.nowMs()
                handle(session.state.withLock { $0.handle(text: text, now: now) })
            case .binary:
                let now = Self.nowMs()
                handle(session.state.withLock { $0.handleBinary(now: now) })
            case .close(let code, let reason):
                startClose(code: code, reason: reason)
            }
        default:
            startClose(code: 1002, reason: "unknown opcode \(frame.opcode)")
        }
    }

    private func handle(_ output: ClientSession.Output) {
        guard let outbox, let subscriber else { return }
        for reply in output.replies {
            outbox.send(ByteBuffer(string: reply), stream: nil, conflate: false)
        }
        let (hub, id) = (hub, id)
        for action in output.actions {
            switch action {
            case .subscribe(let key):
                toHub {
                    if let rejection = await hub.subscribe(id, subscriber, key) {
                        subscriber.onRejected(key, rejection.reason)
                    }
                }
            case .unsubscribe(let key):
                toHub { await hub.unsubscribe(id, key) }
            case .close(let code, let reason):
                startClose(code: code, reason: reason)
                return
            }
        }
    }

    private func closeReceived(_ payload: ByteBuffer, context: ChannelHandlerContext) {
        switch link.receivedClose(payload) {
        case .ignore: return
        case .finish:
            context.close(promise: nil)
        case .reply(let code):
            outbox?.close()
            var data = context.channel.allocator.buffer(capacity: 2)
            data.writeInteger(code)
            let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
            context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    // MARK: Frames to the client

    /// The server closes: its close frame goes out behind what was already written; the socket is closed when
    /// the client answers, `closeTimeout` after the frame was written, or — for a client that does not read at
    /// all — after the write-stall time.
    func startClose(code: UInt16, reason: String) {
        guard let context, link.close() else { return }
        outbox?.close()
        pingTimer?.cancel()
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.writeInteger(code)
        data.writeString(reason)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
        let loop = context.eventLoop.assumeIsolated()
        closeTimer = loop.scheduleTask(in: settings.writeStall) { context.close(promise: nil) }
        let written = context.writeAndFlush(wrapOutboundOut(frame))
        written.assumeIsolated().whenComplete { [weak self] result in
            guard let self, case .success = result, self.link.phase == .closing else { return }
            self.closeTimer?.cancel()
            self.closeTimer = loop.scheduleTask(in: self.settings.closeTimeout) { context.close(promise: nil) }
        }
    }

    private func schedulePing(context: ChannelHandlerContext) {
        pingTimer = context.eventLoop.assumeIsolated().scheduleTask(in: settings.pingPeriod) { [weak self] in
            self?.pingDue(context: context)
        }
    }

    private func pingDue(context: ChannelHandlerContext) {
        switch link.pingDue() {
        case .stop: return
        case .timedOut:
            // Hummingbird's rule, kept: an unanswered ping ends the connection at once (the client is gone).
            startClose(code: 1001, reason: "ping timeout")
            context.close(promise: nil)
        case .send(let payload):
            var data = context.channel.allocator.buffer(capacity: 8)
            data.writeInteger(payload)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: data)), promise: nil)
            schedulePing(context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { outbox?.drain() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The HTTP server's graceful shutdown asks each connection to wind down.
        if event is ChannelShouldQuiesceEvent {
            startClose(code: 1001, reason: "server shutting down")
            return
        }
        // The server allows half-closure (for HTTP): a client that shut its side of the socket is gone.
        if case .some(.inputClosed) = event as? ChannelEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("client \(id): \(error)")
        // A frame the decoder refused (too large, a fragmented or long control frame): NIO's protocol error
        // handler in front of this one sends the close frame with its code and then closes.
        _ = link.close()
        outbox?.close()
        if !(error is NIOWebSocketError) { context.close(promise: nil) }
    }

    private static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
