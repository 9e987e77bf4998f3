/// Why a Redis operation failed, always naming the server address so that a log line is enough.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    case connectFailed(address: String, reason: String)
    case connectTimeout(address: String, milliseconds: Int64)
    case authFailed(address: String, reply: String)
    case selectFailed(address: String, database: Int, reply: String)
    case commandTimeout(address: String, command: String, milliseconds: Int64)
    case connectionClosed(address: String)
    case notConnected(address: String, lastError: String?)
    case protocolError(address: String, reason: String)
    /// The server answered with an error reply (`-ERR …`).
    case server(address: String, command: String, reply: String)
    case unexpectedReply(address: String, command: String, reply: String)

    public var description: String {
        switch self {
        case .connectFailed(let a, let r): "redis \(a): cannot connect: \(r)"
        case .connectTimeout(let a, let ms): "redis \(a): no connection within \(ms) ms"
        case .authFailed(let a, let r): "redis \(a): authentication failed: \(r)"
        case .selectFailed(let a, let db, let r): "redis \(a): SELECT \(db) failed: \(r)"
        case .commandTimeout(let a, let c, let ms): "redis \(a): \(c) got no reply within \(ms) ms"
        case .connectionClosed(let a): "redis \(a): connection closed"
        case .notConnected(let a, let e): "redis \(a): not connected" + (e.map { " (last error: \($0))" } ?? "")
        case .protocolError(let a, let r): "redis \(a): protocol error: \(r)"
        case .server(let a, let c, let r): "redis \(a): \(c) failed: \(r)"
        case .unexpectedReply(let a, let c, let r): "redis \(a): unexpected reply to \(c): \(r)"
        }
    }
}
