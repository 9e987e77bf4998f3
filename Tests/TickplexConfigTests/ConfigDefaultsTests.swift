import Testing
import TickplexModel

@testable import TickplexConfig

@Suite("Configuration defaults")
struct ConfigDefaultsTests {
    @Test("an empty environment gives the defaults of DESIGN.md")
    func defaults() throws {
        let c = try ConfigLoader.parse([:])
        #expect(c.host == "0.0.0.0")
        #expect(c.port == 8080)
        #expect(c.redisURL == nil)
        #expect(c.brand == "tickplex")
        #expect(c.defaultVenue == .bybitLinear)
        #expect(c.upstream == .exchange)
        #expect(c.bybitSpotURL.description == "wss://stream.bybit.com:443/v5/public/spot")
        #expect(c.bybitLinearURL.host == "stream.bybit.com" && c.bybitLinearURL.tls)
        #expect(c.binanceSpotURL.port == 9443)
        #expect(c.binanceUSDMURL.host == "fstream.binance.com")
        #expect(c.upstreamLingerSeconds == 30)
        #expect(c.bybitRESTURL == "https://api.bybit.com")
        #expect(c.binanceSpotRESTURL == "https://api.binance.com")
        #expect(c.binanceUSDMRESTURL == "https://fapi.binance.com")
        #expect(c.catalogueRefreshSeconds == 600)
        #expect(c.nodeId == nil, "host and process id, chosen by the node")
        #expect(c.maxClients == 10_000)
        #expect(c.maxSubscriptionsPerClient == 100)
        #expect(c.maxMessageRatePerClient == 100)
        #expect(c.maxClientFrameBytes == 65_536)
        #expect(c.clientIdleTimeoutSeconds == 300)
        #expect(c.clientMaxQueueBytes == 1_048_576)
        #expect(c.quoteMaxAgeMs == 5_000)
        #expect(c.quoteWaitMs == 3_000)
        #expect(c.klineHistoryMax == 10_000)
        #expect(c.shutdownGraceSeconds == 10)
        #expect(c.logLevel == "info")
    }

    @Test("every variable is read")
    func everyVariableIsRead() throws {
        let env: [String: String] = [
            "HOST": "127.0.0.1", "PORT": "9001", "REDIS_URL": "rediss://:pw@10.1.2.3:6380/2", "BRAND": "acme",
            "DEFAULT_VENUE": "binance.spot", "UPSTREAM": "sim",
            "BYBIT_WS_URL_SPOT": "ws://127.0.0.1:7000/v5/public/spot",
            "BYBIT_WS_URL_LINEAR": "ws://127.0.0.1:7000/v5/public/linear",
            "BYBIT_WS_URL_INVERSE": "ws://127.0.0.1:7000/v5/public/inverse",
            "BINANCE_WS_URL_SPOT": "ws://127.0.0.1:7001", "BINANCE_WS_URL_USDM": "ws://[::1]:7002",
            "UPSTREAM_LINGER_S": "5", "MAX_CLIENTS": "7", "MAX_SUBSCRIPTIONS_PER_CLIENT": "8",
            "MAX_MESSAGE_RATE_PER_CLIENT": "9", "MAX_CLIENT_FRAME_BYTES": "4096", "CLIENT_IDLE_TIMEOUT": "11",
            "CLIENT_MAX_QUEUE_BYTES": "2048", "QUOTE_MAX_AGE_MS": "1234", "QUOTE_WAIT_MS": "567",
            "KLINE_HISTORY_MAX": "50", "SHUTDOWN_GRACE_S": "3", "LOG_LEVEL": "DEBUG", "METRICS_MAX_STREAMS": "4",
            "LAST_VALUE_TTL_MS": "2000", "REDIS_CONNECT_TIMEOUT_MS": "100", "REDIS_COMMAND_TIMEOUT_MS": "200",
            "MAX_CLIENT_FRAGMENTS": "12", "MAX_CONNECTIONS": "13", "MAX_CONNECTIONS_PER_IP": "14",
            "MAX_NEW_CONNECTIONS_PER_IP_PER_MIN": "15", "HTTP_HEAD_TIMEOUT_MS": "1600", "HTTP_IDLE_TIMEOUT_S": "17",
            "TRUST_PROXY_HEADERS": "true", "CLIENT_WRITE_STALL_S": "18", "MAX_UPSTREAM_STREAMS": "19",
            "MAX_NEW_STREAMS_PER_CLIENT_PER_MIN": "20", "BYBIT_CONNECT_BUDGET_PER_5MIN": "21",
            "BINANCE_CONNECT_BUDGET_PER_5MIN": "22", "AUTH_MODE": "apikey",
            "API_KEYS": "k1, sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            "ALLOWED_ORIGINS": "https://a.example,http://localhost:3000", "ADMIN_TOKEN": "admin-token-0123456789",
            "REDIS_TLS_CA_FILE": "/dev/null", "REDIS_TLS_INSECURE": "false",
            "JWT_SECRET": "0123456789abcdef0123456789abcdef", "JWT_JWKS_FILE": "/dev/null",
            "API_KEYS_REDIS_SET": "tickplex:keys", "BYBIT_REST_URL": "http://10.0.0.5:8080/",
            "BINANCE_REST_URL_SPOT": "https://data-api.binance.vision",
            "BINANCE_REST_URL_USDM": "https://demo-fapi.binance.com",
            "CATALOGUE_REFRESH_S": "23", "NODE_ID": "ingest-2.eu", "ROLE": "ingest", "LEASE_TTL_MS": "2500",
            "REDIS_CLUSTER": "false",
        ]
        #expect(Set(env.keys) == Set(ConfigLoader.variables))
        let c = try ConfigLoader.parse(env)
        #expect(c.host == "127.0.0.1")
        #expect(c.port == 9001)
        #expect(c.redisURL == RedisURL(host: "10.1.2.3", port: 6380, password: "pw", database: 2, tls: true))
        #expect(c.redisTLSCAFile == "/dev/null" && !c.redisTLSInsecure)
        #expect(c.bybitRESTURL == "http://10.0.0.5:8080" && c.binanceSpotRESTURL == "https://data-api.binance.vision")
        #expect(c.binanceUSDMRESTURL == "https://demo-fapi.binance.com" && c.catalogueRefreshSeconds == 23)
        #expect(c.nodeId == "ingest-2.eu")
        #expect(c.role == .ingest && c.leaseTTLMs == 2500 && !c.redisCluster)
        #expect(c.jwtSecret == "0123456789abcdef0123456789abcdef" && c.jwtJWKSFile == "/dev/null")
        #expect(c.apiKeysRedisSet == "tickplex:keys")
        #expect(c.brand == "acme")
        #expect(c.defaultVenue == .binanceSpot)
        #expect(c.upstream == .sim)
        #expect(c.bybitSpotURL == WebSocketURL(tls: false, host: "127.0.0.1", port: 7000, path: "/v5/public/spot"))
        #expect(c.bybitLinearURL.path == "/v5/public/linear")
        #expect(c.bybitInverseURL.path == "/v5/public/inverse")
        #expect(c.binanceSpotURL == WebSocketURL(tls: false, host: "127.0.0.1", port: 7001, path: "/"))
        #expect(c.binanceUSDMURL.host == "::1" && c.binanceUSDMURL.port == 7002)
        #expect(c.upstreamLingerSeconds == 5)
        #expect(c.maxClients == 7)
        #expect(c.maxSubscriptionsPerClient == 8)
        #expect(c.maxMessageRatePerClient == 9)
        #expect(c.maxClientFrameBytes == 4096)
        #expect(c.clientIdleTimeoutSeconds == 11)
        #expect(c.clientMaxQueueBytes == 2048)
        #expect(c.quoteMaxAgeMs == 1234)
        #expect(c.quoteWaitMs == 567)
        #expect(c.klineHistoryMax == 50)
        #expect(c.shutdownGraceSeconds == 3)
        #expect(c.logLevel == "debug")
        #expect(c.metricsMaxStreams == 4)
        #expect(c.lastValueTTLMs == 2000)
        #expect(c.redisConnectTimeoutMs == 100)
        #expect(c.redisCommandTimeoutMs == 200)
        #expect(c.maxClientFragments == 12)
        #expect(c.maxConnections == 13 && c.maxConnectionsPerIP == 14 && c.maxNewConnectionsPerIPPerMin == 15)
        #expect(c.httpHeadTimeoutMs == 1600 && c.httpIdleTimeoutSeconds == 17 && c.trustProxyHeaders)
        #expect(c.clientWriteStallSeconds == 18 && c.maxUpstreamStreams == 19 && c.maxNewStreamsPerClientPerMin == 20)
        #expect(c.bybitConnectBudgetPer5Min == 21 && c.binanceConnectBudgetPer5Min == 22)
        #expect(c.authMode == .apikey)
        #expect(c.apiKeys == ["k1", "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"])
        #expect(c.allowedOrigins == ["https://a.example", "http://localhost:3000"])
        #expect(c.adminToken == "admin-token-0123456789")
    }

    @Test("an empty value keeps the default")
    func emptyKeepsDefault() throws {
        let c = try ConfigLoader.parse(["PORT": "", "BRAND": ""])
        #expect(c.port == 8080)
        #expect(c.brand == "tickplex")
    }
}
