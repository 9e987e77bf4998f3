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
    public var defaultVenue = Venue.bybitLinear
    public var upstream = UpstreamMode.exchange
    public var bybitSpotURL = WebSocketURL("wss://stream.bybit.com/v5/public/spot")!
    public var bybitLinearURL = WebSocketURL("wss://stream.bybit.com/v5/public/linear")!
    public var bybitInverseURL = WebSocketURL("wss://stream.bybit.com/v5/public/inverse")!
    public var binanceSpotURL = WebSocketURL("wss://stream.binance.com:9443")!
    public var binanceUSDMURL = WebSocketURL("wss://fstream.binance.com")!
    public var upstreamLingerSeconds = 30
    public var maxClients = 10_000
    public var maxSubscriptionsPerClient = 100
    public var maxMessageRatePerClient = 100
    public var maxClientFrameBytes = 65_536
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

    public init() {}
}
