public import TickplexModel

/// Everything Tickplex reads from its environment (and an optional `.env`), validated.
///
/// The variable names are the contract of DESIGN.md; `ConfigLoader` turns an environment into this value or
/// a `ConfigError` naming the variable, the value and what is allowed.
public struct TickplexConfig: Sendable, Equatable {
    public enum UpstreamMode: String, Sendable, CaseIterable {
        /// The real exchange endpoints (or whatever the `*_WS_URL_*` variables point at).
        case exchange
        /// The built-in exchange simulator, started in-process on loopback.
        case sim
    }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public var host = "0.0.0.0"
    /// 0 asks the OS for a free port (the log line `listening on …` says which).
    public var port = 8080
    public var redisURL: RedisURL?
    public var brand = "tickplex"
    /// This node's name in `/stats`, `/health` and the logs; nil: the host name and the process id.
    public var nodeId: String?
    /// What this node does in a cluster: `all` (clients and upstream), `edge` (clients only, never an upstream
    /// connection), `ingest` (upstream only: no `/ws`, no client REST). `edge` and `ingest` need `REDIS_URL`.
    public enum Role: String, Sendable, CaseIterable {
        case all, edge, ingest
    }
    public var role = Role.all
    /// How long a stream's upstream lease lasts without renewal: a dead owner's streams move after at most this.
    public var leaseTTLMs = 5000
    /// `REDIS_URL` names one node of a Redis Cluster (7+): names are hash-tagged per stream, pub/sub is sharded.
    public var redisCluster = false
    public var defaultVenue = Venue.bybitLinear
    public var upstream = UpstreamMode.exchange
    public var bybitSpotURL = WebSocketURL("wss://stream.bybit.com/v5/public/spot")!
    public var bybitLinearURL = WebSocketURL("wss://stream.bybit.com/v5/public/linear")!
    public var bybitInverseURL = WebSocketURL("wss://stream.bybit.com/v5/public/inverse")!
    public var binanceSpotURL = WebSocketURL("wss://stream.binance.com:9443")!
    public var binanceUSDMURL = WebSocketURL("wss://fstream.binance.com")!
    /// The exchanges' REST hosts: the instrument catalogue (and, later, candle history) comes from them.
    public var bybitRESTURL = "https://api.bybit.com"
    public var binanceSpotRESTURL = "https://api.binance.com"
    public var binanceUSDMRESTURL = "https://fapi.binance.com"
    /// How often the instrument catalogue is loaded again.
    public var catalogueRefreshSeconds = 600
    public var upstreamLingerSeconds = 30
    public var maxClients = 10_000
    public var maxSubscriptionsPerClient = 100
    public var maxMessageRatePerClient = 100
    public var maxClientFrameBytes = 65_536
    /// Frames one client message may be split into (continuation frames); more → close 1008.
    public var maxClientFragments = 64
    public var clientIdleTimeoutSeconds = 300
    public var clientMaxQueueBytes = 1_048_576
    public var quoteMaxAgeMs = 5_000
    public var quoteWaitMs = 3_000
    public var klineHistoryMax = 10_000
    public var shutdownGraceSeconds = 10
    public var logLevel = "info"
    /// Bound on per-stream label cardinality in `/metrics`.
    public var metricsMaxStreams = 200
    /// How long the last value of a stream is kept in the last-value store.
    public var lastValueTTLMs = 60_000
    public var redisConnectTimeoutMs = 3_000
    public var redisCommandTimeoutMs = 5_000
    /// `rediss://`: the CA (PEM) that signed the server's certificate; unset → the system's trust roots.
    public var redisTLSCAFile: String?
    /// `rediss://` without certificate verification (self-signed test servers); said loudly in the log.
    public var redisTLSInsecure = false

    // MARK: Exposure: sockets before the upgrade, client writes, budgets toward the exchange, access control

    /// Open sockets, upgraded or not; past it a new connection is answered 503 and closed.
    public var maxConnections = 20_000
    /// Generous by default: many users can share one address (offices, carrier NAT).
    public var maxConnectionsPerIP = 1_000
    /// New connections one IP may open per minute (429 past it).
    public var maxNewConnectionsPerIPPerMin = 1_200
    /// A request head not complete within this is closed (slowloris).
    public var httpHeadTimeoutMs = 10_000
    /// A keep-alive HTTP connection with no request for this long is closed.
    public var httpIdleTimeoutSeconds = 60
    /// Take the client address from `X-Forwarded-For` (its last entry: the one our proxy added).
    public var trustProxyHeaders = false
    /// A client whose socket takes no bytes for this long, with bytes waiting, is closed.
    public var clientWriteStallSeconds = 30
    /// Streams this node holds upstream at most (all venues together).
    public var maxUpstreamStreams = 5_000
    /// Streams new to the node one client may cause per minute.
    public var maxNewStreamsPerClientPerMin = 120
    /// Upstream connection attempts per 5 minutes: Bybit per WebSocket domain (exchange limit 500), Binance per
    /// host (exchange limit 300 per IP).
    public var bybitConnectBudgetPer5Min = 400
    public var binanceConnectBudgetPer5Min = 240

    public enum AuthMode: String, Sendable, CaseIterable {
        case none, apikey, jwt
    }
    public var authMode = AuthMode.none
    /// API keys: plain, or `sha256:<hex>` (the key's SHA-256, lower-case hex).
    public var apiKeys: [String] = []
    /// A Redis set whose members are API keys (same two forms), read at each connection: keys can be added and
    /// revoked without a restart.
    public var apiKeysRedisSet: String?
    /// `AUTH_MODE=jwt`: the HS256 secret, and/or a JWKS file with RS256/ES256 public keys.
    public var jwtSecret: String?
    public var jwtJWKSFile: String?
    /// Browser origins allowed to open `/ws` (empty: any origin).
    public var allowedOrigins: [String] = []
    /// When set, `/stats` and `/metrics` need `Authorization: Bearer <ADMIN_TOKEN>` (or `?token=`).
    public var adminToken: String?

    public init() {}
}
