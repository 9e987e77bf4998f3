import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Every accepted connection: `ConnectionGate` first, then HTTP/1 with the `/ws` upgrade. An upgraded connection
/// is handed to the gateway's `ClientChannelHandler` and this type's part ends there (no task stays with it);
/// any other request is answered by the Hummingbird router. Built on the shape of hummingbird-websocket's
/// `HTTP1WebSocketUpgradeChannel`, whose upgraded connections each keep a task, an actor and two async-channel
/// buffers (issue 12 measured ~24 KiB per connection for them).
struct GatewayChildChannel: ServerChildChannel, HTTPChannelHandler {
    enum UpgradeResult: Sendable {
        /// Upgraded: the client's handler is on the channel.
        case webSocket
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade asked for a path that is not `/ws` (or this node serves no clients): 400.
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    /// nil on an ingest node (no clients).
    let gateway: WebSocketGateway?
    let settings: GateSettings
    let idleTimeout: Duration?
    let maxFrameSize: Int

    init(
        responder: @escaping HTTPChannelHandler.Responder, gateway: WebSocketGateway?, settings: GateSettings,
        idleTimeout: Duration?, maxFrameSize: Int
    ) {
        self.responder = Self.upgradeRedirecting(responder)
        self.gateway = gateway
        self.settings = settings
        self.idleTimeout = idleTimeout
        self.maxFrameSize = maxFrameSize
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ConnectionGate(settings), position: .first)
            let upgradeAttempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let gateway = self.gateway
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: maxFrameSize,
                shouldUpgrade: { channel, head in
                    upgradeAttempted.value = true
                    guard gateway != nil, WebSocketGateway.serves(uri: head.uri) else {
                        return channel.eventLoop.makeSucceededFuture(nil)
                    }
                    return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                },
                upgradePipelineHandler: { channel, head in
                    guard let gateway else { return channel.eventLoop.makeSucceededFuture(.webSocket) }
                    return gateway.attach(to: channel, head: head).map { .webSocket }
                })
            let idleTimeout = self.idleTimeout
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true))
                        return upgradeAttempted.value ? .failedUpgrade(asyncChannel) : .notUpgraded(asyncChannel)
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(
                upgradeConfiguration: upgrades)
            configuration.enablePipelining = false  // HTTP is pipelined by NIOAsyncChannel
            configuration.enableErrorHandling = false  // handled by Hummingbird
            configuration.enableResponseHeaderValidation = false  // swift-http-types validates
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
                configuration: configuration)
            return Value(upgradeResult: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .webSocket:
                return
            case .notUpgraded(let http1):
                await handleHTTP(asyncChannel: http1, logger: logger)
            case .failedUpgrade(let http1):
                try await http1.executeThenClose { _, outbound in
                    let head = HTTPResponse(
                        status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                    try await outbound.write(contentsOf: [.head(head), .end(nil)])
                }
            }
        } catch {
            logger.debug("connection ended before a request was served: \(error)")
        }
    }

    /// NIO's upgrader only looks at a connection's first request; a later upgrade request on the same connection is
    /// answered with a redirect to itself and a close, so that the client comes back on a new connection (as
    /// hummingbird-websocket does).
    private static func upgradeRedirecting(_ responder: @escaping Responder) -> Responder {
        struct RedirectedUpgrade: Error {}
        return { request, writer, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                try await responder(request, writer, channel)
                return
            }
            var target = request.uri.path
            if let query = request.uri.query { target += "?\(query)" }
            let response = HTTPResponse(
                status: .temporaryRedirect, headerFields: [.connection: "close", .location: target])
            try await writer.writeResponse(response)
            throw RedirectedUpgrade()
        }
    }
}
