/// A parsed `ws://` or `wss://` address of an upstream endpoint.
public struct WebSocketURL: Sendable, Equatable, CustomStringConvertible {
    public var tls: Bool
    public var host: String
    public var port: Int
    /// Path including any query, always starting with `/`.
    public var path: String

    public init(tls: Bool, host: String, port: Int, path: String) {
        self.tls = tls
        self.host = host
        self.port = port
        self.path = path
    }

    public static let allowedForm = "a ws:// or wss:// URL with a host, e.g. wss://stream.bybit.com/v5/public/linear"

    public init?(_ string: String) {
        let tls: Bool
        var rest: Substring
        if string.hasPrefix("wss://") {
            tls = true
            rest = string.dropFirst(6)
        } else if string.hasPrefix("ws://") {
            tls = false
            rest = string.dropFirst(5)
        } else {
            return nil
        }
        var path = "/"
        if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
            path = String(rest[slash...])
            if path.hasPrefix("?") { path = "/" + path }
            rest = rest[..<slash]
        }
        var host = String(rest)
        var port = tls ? 443 : 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty, !host.contains("@"), (1...65535).contains(port) else { return nil }
        self.init(tls: tls, host: host, port: port, path: path)
    }

    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(tls ? "wss" : "ws")://\(hostPart):\(port)\(path == "/" ? "" : path)"
    }

    /// The same endpoint with `suffix` appended to its path (`/ws`, `/stream?streams=`).
    public func appendingPath(_ suffix: String) -> WebSocketURL {
        var copy = self
        copy.path = path.hasSuffix("/") ? String(path.dropLast()) + suffix : path + suffix
        return copy
    }
}
