/// What one simulated connection did, for tests that check the proxy's behaviour.
public struct SimConnectionInfo: Sendable, Equatable, Codable {
    public var id: Int
    public var path: String
    public var venue: String
    public var subscribed: [String]
    /// Every text frame the client sent, in order.
    public var requests: [String]
    /// Bybit JSON pings received.
    public var pingsReceived: Int
    /// Binance: ping frames sent and pong frames received.
    public var pingFramesSent: Int
    public var pongsReceived: Int
    /// Binance: the most inbound messages (text, ping, pong) seen in any one-second window.
    public var maxInboundPerSecond: Int
    public var open: Bool
    public var closeCode: Int?
    /// When each client heartbeat arrived (ms since 1970): Bybit JSON pings, Binance ping frames.
    public var clientPingTimes: [Int64] = []
}
