import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// MAX_CLIENTS as HTTP 503 before the upgrade. NIO's upgrader answers any refusal from the WebSocket route with
/// 400, so the refusal happens in front of it: this handler reads a new connection's request head, and when it is a
/// WebSocket upgrade while the node is full it answers 503 and closes; otherwise it passes the bytes on and leaves
/// the pipeline (REST requests are never refused).
final class ClientCapacityGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let isFull: @Sendable () -> Bool
    private let maxClients: Int
    private var head = ByteBuffer()
    /// Request heads larger than this are not inspected (the HTTP decoder deals with them).
    private static let maxHeadBytes = 16 * 1024

    init(maxClients: Int, isFull: @escaping @Sendable () -> Bool) {
        self.maxClients = maxClients
        self.isFull = isFull
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        head.writeBuffer(&bytes)
        let view = head.readableBytesView
        let complete = view.count >= Self.maxHeadBytes || view.firstRange(of: [13, 10, 13, 10]) != nil
        guard complete else { return }
        if Self.isWebSocketUpgrade(head) && isFull() {
            let body = #"{"error":"too many clients","maxClients":\#(maxClients)}"#
            let response =
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
                + "Retry-After: 1\r\nConnection: close\r\n\r\n" + body
            context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: response))).whenComplete { _ in
                context.close(promise: nil)
            }
            head.clear()
            return
        }
        let pending = head
        head = ByteBuffer()
        context.fireChannelRead(Self.wrapInboundOut(pending))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    static func isWebSocketUpgrade(_ head: ByteBuffer) -> Bool {
        let text = String(buffer: head).lowercased()
        return text.split(separator: "\r\n").contains { line in
            let parts = line.split(separator: ":", maxSplits: 1)
            return parts.count == 2 && parts[0].trimmingCharacters(in: .whitespaces) == "upgrade"
                && parts[1].trimmingCharacters(in: .whitespaces) == "websocket"
        }
    }
}

/// The HTTP + WebSocket child channel with the capacity gate in front.
struct GatedWebSocketChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value
    let inner: HTTP1WebSocketUpgradeChannel
    let maxClients: Int
    let isFull: @Sendable () -> Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                ClientCapacityGate(maxClients: maxClients, isFull: isFull), position: .first)
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
