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
    /// Every change of what this connection is subscribed to, in order (a close unsubscribes everything).
    public var subscriptionLog: [SimSubscriptionChange] = []
}

/// A topic subscribed or unsubscribed on one connection, and when (ms since 1970).
public struct SimSubscriptionChange: Sendable, Equatable, Codable {
    public var topic: String
    public var at: Int64
    public var subscribed: Bool
}

extension [SimConnectionInfo] {
    /// Per venue and topic (`venue topic`), the most connections that had it subscribed at the same moment, over
    /// the whole history: 1 when the proxy never held a topic twice.
    public func maxConcurrentSubscriptions() -> [String: Int] {
        var changes: [(name: String, at: Int64, delta: Int)] = []
        for connection in self {
            for change in connection.subscriptionLog {
                changes.append(("\(connection.venue) \(change.topic)", change.at, change.subscribed ? 1 : -1))
            }
        }
        // At equal times the unsubscribe counts first: a hand-over within one millisecond is no overlap.
        changes.sort { ($0.at, $0.delta) < ($1.at, $1.delta) }
        var now: [String: Int] = [:]
        var most: [String: Int] = [:]
        for change in changes {
            now[change.name, default: 0] += change.delta
            most[change.name] = Swift.max(most[change.name] ?? 0, now[change.name]!)
        }
        return most
    }
}
