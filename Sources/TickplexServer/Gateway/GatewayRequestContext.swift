import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The `/ws` request context: the standard WebSocket context plus the connection's channel, so that the client's
/// writer can hand a whole batch of shared frames to the event loop and flush once (the public outbound writer
/// flushes every frame).
struct GatewayRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}
