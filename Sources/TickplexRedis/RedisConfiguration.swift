public import TickplexConfig
public import TickplexModel

/// Where and how to reach Redis.
public struct RedisConfiguration: Sendable {
    public var url: RedisURL
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    /// Idle connections send PING this often, so that a server that stopped answering is noticed.
    public var keepAliveInterval: Duration
    public var reconnectBackoff: Backoff
    /// For `rediss://`: how the server's certificate is checked.
    public var tls: TLS
    /// `REDIS_CLUSTER=true`: the URL is one node of a Redis Cluster; commands go to their slot's master and
    /// pub/sub is sharded (`SPUBLISH`/`SSUBSCRIBE`).
    public var cluster = false

    public struct TLS: Sendable {
        /// PEM file of the CA that signed the server's certificate; nil → the system's trust roots.
        public var caFile: String?
        /// false only for `REDIS_TLS_INSECURE=true`: no certificate verification at all.
        public var verify: Bool
        public init(caFile: String? = nil, verify: Bool = true) {
            self.caFile = caFile
            self.verify = verify
        }
    }

    public init(
        url: RedisURL,
        connectTimeout: Duration = .seconds(3),
        commandTimeout: Duration = .seconds(5),
        keepAliveInterval: Duration = .seconds(5),
        reconnectBackoff: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5)),
        tls: TLS = .init(), cluster: Bool = false
    ) {
        self.cluster = cluster
        self.tls = tls
        self.url = url
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.keepAliveInterval = keepAliveInterval
        self.reconnectBackoff = reconnectBackoff
    }

    /// `host:port`, for errors and logs (never the password).
    public var address: String {
        url.host.contains(":") ? "[\(url.host)]:\(url.port)" : "\(url.host):\(url.port)"
    }
}
