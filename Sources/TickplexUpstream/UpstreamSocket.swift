import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import TickplexConfig
import TickplexModel

/// Opens the WebSocket to an exchange on SwiftNIO directly. The connection sees every frame (pings and pongs
/// included: the heartbeat and the silence watchdog need them, and the pongs we send count against Binance's
/// 5 messages per second), and the whole handshake, TCP and TLS and upgrade, has one deadline.
enum UpstreamSocket {
    typealias Channel = NIOAsyncChannel<WebSocketFrame, WebSocketFrame>

    enum Failure: Error, CustomStringConvertible {
        case notUpgraded
        case handshakeTimeout(Duration)

        var description: String {
            switch self {
            case .notUpgraded: "the server answered without upgrading to WebSocket"
            case .handshakeTimeout(let d): "no WebSocket upgrade within \(d)"
            }
        }
    }

    private enum Upgrade {
        case websocket(Channel)
        case notUpgraded
    }

    /// One TLS context for every upstream connection (system trust roots, hostname verified).
    static let tlsContext: Result<NIOSSLContext, any Error> = Result {
        try NIOSSLContext(configuration: .makeClientConfiguration())
    }

    static func connect(
        url: WebSocketURL, maxFrameSize: Int, timeout: Duration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> Channel {
        let context = url.tls ? try tlsContext.get() : nil
        let deadline = TimeAmount.milliseconds(timeout.milliseconds)
        let upgrade: EventLoopFuture<Upgrade> = try await ClientBootstrap(group: group)
            .connectTimeout(deadline)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connect(host: url.host, port: url.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The upgrade must finish within the deadline too: a server that accepts TCP and never answers
                    // would otherwise hold the attempt forever.
                    let timer = channel.eventLoop.scheduleTask(in: deadline) {
                        channel.close(promise: nil)
                    }
                    channel.closeFuture.whenComplete { _ in timer.cancel() }
                    if let context {
                        let serverName = url.host.contains(":") ? nil : url.host
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: context, serverHostname: serverName))
                    }
                    let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(
                        maxFrameSize: maxFrameSize,
                        upgradePipelineHandler: { channel, _ in
                            timer.cancel()
                            return channel.eventLoop.makeCompletedFuture {
                                .websocket(try Channel(wrappingChannelSynchronously: channel))
                            }
                        })
                    var headers = HTTPHeaders()
                    let defaultPort = url.tls ? 443 : 80
                    let hostPart = url.host.contains(":") ? "[\(url.host)]" : url.host
                    headers.add(name: "Host", value: url.port == defaultPort ? hostPart : "\(hostPart):\(url.port)")
                    headers.add(name: "User-Agent", value: "tickplex/\(TickplexVersion.string)")
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.path, headers: headers)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
                        upgradeRequestHead: head, upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            timer.cancel()
                            return channel.eventLoop.makeCompletedFuture { .notUpgraded }
                        })
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: .init(upgradeConfiguration: configuration))
                }
            }
        let result: Upgrade
        do {
            result = try await upgrade.get()
        } catch ChannelError.ioOnClosedChannel, ChannelError.eof {
            throw Failure.handshakeTimeout(timeout)
        }
        switch result {
        case .websocket(let channel): return channel
        case .notUpgraded: throw Failure.notUpgraded
        }
    }

    /// A client frame: masked, as RFC 6455 requires of every frame a client sends.
    static func frame(_ opcode: WebSocketOpcode, _ data: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data)
    }
}
