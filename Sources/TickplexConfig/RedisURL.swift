import Foundation

/// A parsed `redis://[[user]:password@]host[:port][/db]` address; `rediss://` is the same over TLS.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// `rediss://`: TLS, with the server's certificate verified (managed Redis needs it).
    public var tls: Bool
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int

    public init(
        host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0,
        tls: Bool = false
    ) {
        self.tls = tls
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    public static let allowedForm =
        "redis://[:password@]host:port/db or rediss://… for TLS (port 1-65535, db 0-15 or more, e.g. redis://127.0.0.1:6379/0)"

    /// Parses the URL; returns `nil` when it is malformed.
    public init?(_ string: String) {
        let tls = string.hasPrefix("rediss://")
        guard tls || string.hasPrefix("redis://") else { return nil }
        var rest = Substring(string.dropFirst(tls ? "rediss://".count : "redis://".count))
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = userInfo[..<colon]
                username = user.isEmpty ? nil : String(user).removingPercentEncodingIfPossible
                password = String(userInfo[userInfo.index(after: colon)...]).removingPercentEncodingIfPossible
            } else {
                // `redis://secret@host` is a common shorthand for a password only.
                password = String(userInfo).removingPercentEncodingIfPossible
            }
            if password == "" { password = nil }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let dbText = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0 else { return nil }
                database = db
            }
        }
        var host = String(rest)
        var port = 6379
        if rest.hasPrefix("[") {
            // IPv6 literal: [::1]:6379
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
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        self.init(host: host, port: port, username: username, password: password, database: database, tls: tls)
    }

    /// A URL as given, with whatever stands between `://` and the last `@` hidden: for errors about a URL that
    /// did not parse (it may still hold a password).
    public static func redacted(_ raw: String) -> String {
        guard let scheme = raw.range(of: "://"), let at = raw.lastIndex(of: "@"), at > scheme.upperBound else {
            return raw
        }
        return String(raw[..<scheme.upperBound]) + "***" + String(raw[at...])
    }

    /// The address without the password, safe to log.
    public var description: String {
        let auth = password == nil ? "" : "\(username ?? ""):***@"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(tls ? "rediss" : "redis")://\(auth)\(hostPart):\(port)/\(database)"
    }
}

extension String {
    var removingPercentEncodingIfPossible: String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let b = iterator.next() {
            if b == UInt8(ascii: "%"), let h = iterator.next(), let l = iterator.next(),
                let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16)
            {
                bytes.append(v)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
