import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The `/ws` request context: the standard WebSocket context plus the connection's channel, so that the client's
/// `ClientOutbox` can write pre-framed bytes on its event loop (the public outbound writer hops through an actor
/// and flushes every frame).
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
