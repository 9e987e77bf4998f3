public import NIOCore

/// A pub/sub message: the channel and the payload bytes, shared (not copied) by every consumer.
public struct RedisPubSubMessage: Sendable {
    public let channel: String
    public let payload: ByteBuffer
}

/// Commands written as one unit: their encoded bytes and how many replies complete them.
struct RedisRequest {
    var bytes: ByteBuffer
    var replyCount: Int
    var commandName: String
    var promise: EventLoopPromise<[RESPValue]>
}

/// Matches replies to pipelined requests in order, fails them on timeout or close, and routes pub/sub
/// `message` pushes to `onPush`.
///
/// One timer covers the whole pipeline: it is armed for the oldest request's deadline and re-armed as
/// requests complete, so a timeout costs nothing per command. A timed-out pipeline cannot be resynchronised,
/// so the connection is closed and every pending request fails.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let replyCount: Int
        let commandName: String
        let promise: EventLoopPromise<[RESPValue]>
        let deadline: NIODeadline
    }

    private let address: String
    private let commandTimeout: TimeAmount
    private let onPush: (@Sendable (RedisPubSubMessage) -> Void)?
    private var pending = CircularBuffer<Pending>(initialCapacity: 64)
    /// The replies of the head request, collected here rather than in `pending`: appending through the buffer's
    /// subscript copies the array each time (quadratic for a long pipeline).
    private var headReplies: [RESPValue] = []
    private var timer: Scheduled<Void>?
    private var closedError: RedisError?

    init(address: String, commandTimeout: TimeAmount, onPush: (@Sendable (RedisPubSubMessage) -> Void)?) {
        self.address = address
        self.commandTimeout = commandTimeout
        self.onPush = onPush
    }

    /// The caller's write promise succeeds as soon as this handler owns the request: from then on the request's
    /// own promise is always completed (by a reply, a timeout or the close). A write promise that fails therefore
    /// means the request never got here, and the caller fails it without risk of completing it twice.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        promise?.succeed(())
        if let closedError {
            request.promise.fail(closedError)
            return
        }
        pending.append(
            Pending(
                replyCount: request.replyCount, commandName: request.commandName,
                promise: request.promise, deadline: .now() + commandTimeout))
        if request.replyCount == 0 { completeHead() }
        armTimer(context: context)
        context.write(wrapOutboundOut(request.bytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if let onPush, let message = Self.pubSubMessage(value) {
            onPush(message)
            return
        }
        if onPush != nil, Self.isServerUnsubscribe(value),
            pending.first.map({ $0.commandName != "SUNSUBSCRIBE" }) ?? true
        {
            // Redis Cluster moved the channel's slot and dropped the subscription itself: the subscriber's next
            // map refresh subscribes it on the new master.
            return
        }
        guard !pending.isEmpty else {
            // A reply nobody asked for: the stream is out of step; closing is the only safe answer.
            fail(context: context, with: .protocolError(address: address, reason: "unexpected reply \(value)"))
            return
        }
        if headReplies.isEmpty { headReplies.reserveCapacity(pending[pending.startIndex].replyCount) }
        headReplies.append(value)
        if headReplies.count == pending[pending.startIndex].replyCount { completeHead() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(closedError ?? .connectionClosed(address: address))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError: RedisError =
            if let e = error as? RESPProtocolError {
                .protocolError(address: address, reason: e.reason)
            } else if let e = error as? RedisError {
                e
            } else {
                .connectFailed(address: address, reason: "\(error)")
            }
        fail(context: context, with: redisError)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(closedError ?? .connectionClosed(address: address))
    }

    // MARK: -

    private func completeHead() {
        let done = pending.removeFirst()
        let replies = headReplies
        headReplies = []
        done.promise.succeed(replies)
    }

    private func fail(context: ChannelHandlerContext, with error: RedisError) {
        if closedError == nil { closedError = error }
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        if closedError == nil { closedError = error }
        timer?.cancel()
        timer = nil
        headReplies = []
        while let p = pending.popFirst() { p.promise.fail(error) }
    }

    private func armTimer(context: ChannelHandlerContext) {
        guard timer == nil, let head = pending.first else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: head.deadline) {
            self.timer = nil
            guard let head = self.pending.first else { return }
            if head.deadline <= .now() {
                let ms = Int64(self.commandTimeout.nanoseconds / 1_000_000)
                self.fail(
                    context: context,
                    with: .commandTimeout(address: self.address, command: head.commandName, milliseconds: ms))
            } else {
                self.armTimer(context: context)
            }
        }
    }

    /// `["message", channel, payload]` as sent by Redis in subscribe mode (RESP2), or `["smessage", …]` for a
    /// sharded channel.
    static func pubSubMessage(_ value: RESPValue) -> RedisPubSubMessage? {
        guard case .array(let items) = value, items.count == 3,
            case .bulkString(let kind) = items[0],
            kind.readableBytesView.elementsEqual("message".utf8)
                || kind.readableBytesView.elementsEqual("smessage".utf8),
            case .bulkString(let channel) = items[1], case .bulkString(let payload) = items[2]
        else { return nil }
        return RedisPubSubMessage(channel: String(buffer: channel), payload: payload)
    }

    /// `["sunsubscribe", channel, count]`.
    static func isServerUnsubscribe(_ value: RESPValue) -> Bool {
        guard case .array(let items) = value, items.count == 3, case .bulkString(let kind) = items[0] else {
            return false
        }
        return kind.readableBytesView.elementsEqual("sunsubscribe".utf8)
    }
}
