public import Foundation

/// What a reconnecting Redis connection is doing now, for `/health` and `/stats`.
public enum RedisConnectionStatus: Sendable, Equatable, CustomStringConvertible {
    /// Not connected yet (first attempt under way).
    case connecting
    case connected(since: Date)
    /// Lost or never reached; retrying with backoff since `since`.
    case reconnecting(since: Date, lastError: String)
    /// Stopped for good (shutdown).
    case closed

    public var isConnected: Bool {
        if case .connected = self { return true }
        return false
    }

    public var name: String {
        switch self {
        case .connecting: "connecting"
        case .connected: "connected"
        case .reconnecting: "reconnecting"
        case .closed: "closed"
        }
    }

    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .connected(let since): "connected since \(since)"
        case .reconnecting(let since, let error): "reconnecting since \(since) (last error: \(error))"
        case .closed: "closed"
        }
    }
}
