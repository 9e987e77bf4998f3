import NIOCore
import NIOWebSocket
import Synchronization

/// One client's way out, confined to its channel's event loop. A frame goes straight to the socket while the
/// channel is writable and nothing is queued; otherwise it waits in the bounded `OutboundQueue` (ticker/book
/// conflated, trade/kline overflow → 4008), and when the channel turns writable again everything pending is written
/// and flushed once. No task and no allocation per client per message: the hub frames each message once
/// (`ServerTextFrame`), hands that buffer to each event loop once, and the loop offers it to its clients, whose
/// sockets get the very same bytes, written below the WebSocket frame encoder.
final class ClientOutbox: Sendable {
    struct State {
        var queue: OutboundQueue
        var closed = false
        var overflowed = false
        /// The WebSocket frame encoder's context: pre-framed bytes written here go to the socket as they are.
        var encoder: ChannelHandlerContext?
        /// Per stream: updates up to this seq are older than the snapshot this client got; skipped until a newer
        /// one passes (empty almost always, so the check costs one `isEmpty`).
        var skipThrough: [String: Int] = [:]
        /// Armed while bytes wait for this client (queued, overflowed, or the channel unwritable): see `checkStall`.
        var stallCheck: Scheduled<Void>?
        /// Bytes buffered in the channel when the check was armed: less at the check means the socket took some.
        var bufferedAtCheck = 0
    }

    let id: Int
    let channel: any Channel
    var eventLoop: any EventLoop { channel.eventLoop }
    private let state: NIOLoopBoundBox<State>
    let stats: GatewayStats
    /// Called once, on the loop, when the client overflows: the gateway sends 4008 (it goes out when the socket
    /// takes it; the write-stall rule cuts a client that never reads again).
    private let onOverflow: @Sendable () -> Void
    /// CLIENT_WRITE_STALL_S: a socket that takes no bytes for this long while bytes wait for it is closed.
    private let writeStall: TimeAmount

    init(
        id: Int, channel: any Channel, maxBytes: Int, writeStall: TimeAmount = .seconds(30), stats: GatewayStats,
        onOverflow: @escaping @Sendable () -> Void = {}
    ) {
        self.id = id
        self.channel = channel
        self.stats = stats
        self.writeStall = writeStall
        self.onOverflow = onOverflow
        state = .makeBoxSendingValue(State(queue: OutboundQueue(maxBytes: maxBytes)), eventLoop: channel.eventLoop)
    }

    /// From anywhere: one JSON text (a reply, a snapshot, a status) framed and offered on the client's loop.
    /// `skipThrough`: the seq of a snapshot; later updates of `stream` up to it are dropped for this client.
    func send(_ payload: ByteBuffer, stream: String?, conflate: Bool, skipThrough: Int? = nil) {
        let framed = ServerTextFrame.encode(payload)
        let apply = {
            if let skipThrough, let stream { self.state.value.skipThrough[stream] = skipThrough }
            self.stats.messagesOut.add(self.offer(framed, stream: stream, conflate: conflate))
        }
        if eventLoop.inEventLoop {
            apply()
        } else {
            eventLoop.execute(apply)
        }
    }

    /// On the loop: write the framed bytes now, or queue them behind what is pending (they go out when the
    /// channel turns writable). Returns the frames handed to the socket (0 or 1), for the caller to count once
    /// per pass rather than per client.
    func offer(_ framed: ByteBuffer, stream: String?, conflate: Bool) -> Int {
        if state.value.closed || state.value.overflowed { return 0 }
        if !state.value.skipThrough.isEmpty, let stream, let through = state.value.skipThrough[stream],
            !Self.isSnapshot(framed)
        {
            if let seq = SeqPeek.seq(in: framed), seq <= through { return 0 }
            state.value.skipThrough[stream] = nil
        }
        if state.value.queue.isEmpty && channel.isWritable {
            guard let encoder = encoderContext() else { return 0 }
            encoder.writeAndFlush(NIOAny(framed), promise: nil)
            return 1
        }
        if state.value.stallCheck == nil { armStallCheck() }
        switch state.value.queue.enqueue(framed, stream: stream, conflate: conflate) {
        case .queued: break
        case .conflated: stats.conflated.add(1)
        case .dropped: stats.dropped.add(1)
        case .overflow:
            state.value.overflowed = true
            stats.slowConsumerCloses.add(1)
            onOverflow()
        }
        return 0
    }

    // MARK: Write stall

    /// Armed once bytes wait for the client; re-armed while the socket keeps taking some.
    private func armStallCheck() {
        state.value.bufferedAtCheck = bufferedBytes
        state.value.stallCheck = eventLoop.scheduleTask(in: writeStall) { self.checkStall() }
    }

    /// The client's socket took no bytes for a whole stall window while bytes waited for it: closed, whatever its
    /// streams (a conflated ticker client that never reads would otherwise hold its place for ever). One that
    /// overflowed gets its 4008 if it reads again within the window.
    private func checkStall() {
        state.value.stallCheck = nil
        guard !state.value.closed else { return }
        let waiting = state.value.overflowed || !state.value.queue.isEmpty || !channel.isWritable
        guard waiting else { return }
        let buffered = bufferedBytes
        if buffered < state.value.bufferedAtCheck {
            armStallCheck()
            return
        }
        state.value.closed = true
        stats.writeStallCloses.add(1)
        channel.close(promise: nil)
    }

    /// Bytes written to the channel that the socket has not taken yet.
    private var bufferedBytes: Int {
        (try? channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
    }

    /// On the loop, when the channel turns writable: everything pending, in order, one flush.
    func drain() {
        stats.messagesOut.add(drainPending())
    }

    private func drainPending() -> Int {
        guard !state.value.closed, !state.value.overflowed, !state.value.queue.isEmpty else { return 0 }
        guard let encoder = encoderContext() else { return 0 }
        let frames = state.value.queue.drain()
        for frame in frames { encoder.write(NIOAny(frame), promise: nil) }
        encoder.flush()
        return frames.count
    }

    /// Stops all further writes (the client is closing).
    func close() {
        let apply = {
            self.state.value.closed = true
            self.state.value.stallCheck?.cancel()
            self.state.value.stallCheck = nil
        }
        if eventLoop.inEventLoop {
            apply()
        } else {
            eventLoop.execute(apply)
        }
    }

    /// The snapshot itself passes its own skip mark.
    private static func isSnapshot(_ framed: ByteBuffer) -> Bool {
        framed.readableBytesView.prefix(160).firstRange(of: Array(#""type":"snapshot""#.utf8)) != nil
    }

    private func encoderContext() -> ChannelHandlerContext? {
        if let encoder = state.value.encoder { return encoder }
        // Gone only when the channel is closing: then nothing more is written.
        let encoder = try? channel.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
        state.value.encoder = encoder
        return encoder
    }
}

/// Gateway counters for `/stats` and `/metrics`.
final class GatewayStats: Sendable {
    let clients = Atomic<Int>(0)
    let messagesOut = Atomic<Int>(0)
    let conflated = Atomic<Int>(0)
    let dropped = Atomic<Int>(0)
    let slowConsumerCloses = Atomic<Int>(0)
    /// Clients closed because their socket took no bytes for CLIENT_WRITE_STALL_S.
    let writeStallCloses = Atomic<Int>(0)

    var snapshot: GatewayCounters {
        GatewayCounters(
            clients: clients.value, messagesOut: messagesOut.value, conflated: conflated.value,
            dropped: dropped.value, slowConsumerCloses: slowConsumerCloses.value,
            writeStallCloses: writeStallCloses.value)
    }
}

/// A reading of the gateway's counters.
public struct GatewayCounters: Sendable, Equatable {
    public var clients: Int
    /// Frames handed to client sockets.
    public var messagesOut: Int
    /// Ticker/book frames replaced by a newer one (or dropped) for a client that fell behind.
    public var conflated: Int
    /// Conflatable frames that did not fit even after conflation (the next one supersedes them).
    public var dropped: Int
    /// Clients closed with 4008 because a trade/kline frame did not fit their queue.
    public var slowConsumerCloses: Int
    /// Clients closed because their socket took no bytes for CLIENT_WRITE_STALL_S while bytes waited.
    public var writeStallCloses: Int
}

extension Atomic where Value == Int {
    func add(_ n: Int) { _ = wrappingAdd(n, ordering: .relaxed) }
    var value: Int { load(ordering: .relaxed) }
}
