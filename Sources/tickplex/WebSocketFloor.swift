import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import ServiceLifecycle

/// The memory floor of one idle WebSocket connection, for issue 12's target M: a bare server that accepts the
/// upgrade and reads frames, doing nothing else — Hummingbird's WebSocket route (a task and async channels per
/// connection, what Tickplex's `/ws` stands on today), or a plain NIO pipeline with one channel handler and no task.
/// `tickplex bench fanout --server <script that runs "tickplex ws-floor --mode …">` measures it as it measures Tickplex.
struct WebSocketFloor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws-floor",
        abstract: "A bare WebSocket server on loopback (the per-connection memory floor; see BENCHMARKS.md).",
        shouldDisplay: false
    )

    @Option(help: "hummingbird or nio") var mode = "nio"
    @Argument(help: "Ignored (the fan-out bench passes `serve`)") var ignored: [String] = []

    func run() async throws {
        switch mode {
        case "hummingbird": try await runHummingbird()
        case "nio": try await runNIO()
        default: throw ValidationError("--mode must be hummingbird or nio")
        }
    }

    private func runHummingbird() async throws {
        let wsRouter = Router(context: BasicWebSocketRequestContext.self)
        wsRouter.ws("/ws") { inbound, _, _ in
            for try await _ in inbound {}
        }
        var logger = Logger(label: "ws-floor")
        logger.logLevel = .warning
        let app = Application(
            router: Router(), server: .http1WebSocketUpgrade(webSocketRouter: wsRouter),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in say("listening on http://127.0.0.1:\(channel.localAddress?.port ?? 0)") },
            logger: logger)
        try await app.runService()
    }

    private func runNIO() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let upgrader = NIOWebSocketServerUpgrader(
                    shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(FloorHandler())
                        }
                    })
                return channel.pipeline.configureHTTPServerPipeline(
                    withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
            }
            .bind(host: "127.0.0.1", port: 0).get()
        say("listening on http://127.0.0.1:\(channel.localAddress?.port ?? 0)")
        try await channel.closeFuture.get()
    }

    /// Reads frames, answers pings, nothing else.
    private final class FloorHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            if frame.opcode == .ping {
                context.writeAndFlush(
                    wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
            } else if frame.opcode == .connectionClose {
                context.close(promise: nil)
            }
        }
    }
}
