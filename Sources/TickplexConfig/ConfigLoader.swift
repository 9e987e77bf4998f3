public import Foundation

/// Reads `TickplexConfig` from environment variables and an optional `.env` file (the real environment wins).
public enum ConfigLoader {
    /// Every variable Tickplex reads, for `.env.example` checks and for documentation.
    public static let variables = [
        "HOST", "PORT", "REDIS_URL", "BRAND", "DEFAULT_VENUE", "UPSTREAM",
        "BYBIT_WS_URL_SPOT", "BYBIT_WS_URL_LINEAR", "BYBIT_WS_URL_INVERSE",
        "BINANCE_WS_URL_SPOT", "BINANCE_WS_URL_USDM",
        "UPSTREAM_LINGER_S", "MAX_CLIENTS", "MAX_SUBSCRIPTIONS_PER_CLIENT", "MAX_MESSAGE_RATE_PER_CLIENT",
        "MAX_CLIENT_FRAME_BYTES", "MAX_CLIENT_FRAGMENTS", "CLIENT_IDLE_TIMEOUT", "CLIENT_MAX_QUEUE_BYTES",
        "QUOTE_MAX_AGE_MS", "QUOTE_WAIT_MS", "KLINE_HISTORY_MAX", "SHUTDOWN_GRACE_S", "LOG_LEVEL",
        "METRICS_MAX_STREAMS", "LAST_VALUE_TTL_MS", "REDIS_CONNECT_TIMEOUT_MS", "REDIS_COMMAND_TIMEOUT_MS",
        "MAX_CONNECTIONS", "MAX_CONNECTIONS_PER_IP", "MAX_NEW_CONNECTIONS_PER_IP_PER_MIN", "HTTP_HEAD_TIMEOUT_MS",
        "HTTP_IDLE_TIMEOUT_S", "TRUST_PROXY_HEADERS", "CLIENT_WRITE_STALL_S", "MAX_UPSTREAM_STREAMS",
        "MAX_NEW_STREAMS_PER_CLIENT_PER_MIN", "BYBIT_CONNECT_BUDGET_PER_5MIN", "BINANCE_CONNECT_BUDGET_PER_5MIN",
        "AUTH_MODE", "API_KEYS", "ALLOWED_ORIGINS", "ADMIN_TOKEN", "REDIS_TLS_CA_FILE", "REDIS_TLS_INSECURE",
        "JWT_SECRET", "JWT_JWKS_FILE", "API_KEYS_REDIS_SET", "BYBIT_REST_URL", "BINANCE_REST_URL_SPOT",
        "BINANCE_REST_URL_USDM", "CATALOGUE_REFRESH_S", "NODE_ID", "ROLE", "LEASE_TTL_MS", "REDIS_CLUSTER",
    ]

    /// Variables whose values are secrets: an error about one never repeats the value.
    public static let secretVariables: Set<String> = ["API_KEYS", "ADMIN_TOKEN", "JWT_SECRET"]

    /// The error for a bad value, which repeats the value only as far as it is no secret: secret variables as
    /// `<hidden>`, a Redis URL without its password.
    static func invalid(_ name: String, _ raw: String, allowed: String) -> ConfigError {
        let shown =
            secretVariables.contains(name) ? "<hidden>" : name == "REDIS_URL" ? RedisURL.redacted(raw) : raw
        return ConfigError(variable: name, value: shown, allowed: allowed)
    }

    /// Loads from the process environment and `dotEnvPath` when that file exists.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        dotEnvPath: String? = ".env"
    ) throws -> TickplexConfig {
        var merged: [String: String] = [:]
        if let dotEnvPath, FileManager.default.fileExists(atPath: dotEnvPath) {
            let text = try String(contentsOfFile: dotEnvPath, encoding: .utf8)
            merged = try DotEnv.parse(text)
        }
        merged.merge(environment) { _, real in real }
        return try parse(merged)
    }

    /// Validates an already merged environment.
    public static func parse(_ env: [String: String]) throws(ConfigError) -> TickplexConfig {
        var c = TickplexConfig()
        let r = Reader(env: env)
        c.host = try r.string(
            "HOST", default: c.host, valid: { !$0.isEmpty && !$0.contains(" ") },
            allowed: { "a host name or IP address, e.g. 0.0.0.0 or 127.0.0.1" })
        c.port = try r.int("PORT", default: c.port, in: 0...65535, note: " (0 = any free port)")
        if let raw = r.value("REDIS_URL") {
            guard let url = RedisURL(raw) else {
                throw invalid("REDIS_URL", raw, allowed: RedisURL.allowedForm)
            }
            c.redisURL = url
        }
        c.brand = try r.string(
            "BRAND", default: c.brand,
            valid: { brand in
                !brand.isEmpty && brand.count <= 32
                    && brand.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }
            },
            allowed: { "1-32 characters of a-z, 0-9, '-' or '_' (it prefixes stream names and Redis keys)" })
        if r.value("NODE_ID") != nil {
            c.nodeId = try r.string(
                "NODE_ID", default: "",
                valid: { id in
                    (1...64).contains(id.count)
                        && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
                },
                allowed: { "1-64 characters of A-Z, a-z, 0-9, '-', '_' or '.' (default: host and process id)" })
        }
        c.role = try r.enumeration("ROLE", default: c.role)
        if c.role != .all && c.redisURL == nil {
            throw ConfigError(
                variable: "ROLE", value: c.role.rawValue,
                allowed: "all without REDIS_URL; edge and ingest need REDIS_URL (the nodes meet on Redis)")
        }
        c.leaseTTLMs = try r.int("LEASE_TTL_MS", default: c.leaseTTLMs, in: 1000...60_000)
        c.redisCluster = try r.bool("REDIS_CLUSTER", default: c.redisCluster)
        if c.redisCluster {
            guard let url = c.redisURL else {
                throw ConfigError(
                    variable: "REDIS_CLUSTER", value: "true",
                    allowed: "true only with REDIS_URL (one node of the cluster)")
            }
            guard url.database == 0 else {
                throw ConfigError(
                    variable: "REDIS_CLUSTER", value: "true",
                    allowed: "true only with database 0 in REDIS_URL (a Redis Cluster has no other)")
            }
        }
        c.defaultVenue = try r.enumeration("DEFAULT_VENUE", default: c.defaultVenue)
        c.upstream = try r.enumeration("UPSTREAM", default: c.upstream)
        c.bybitSpotURL = try r.wsURL("BYBIT_WS_URL_SPOT", default: c.bybitSpotURL)
        c.bybitLinearURL = try r.wsURL("BYBIT_WS_URL_LINEAR", default: c.bybitLinearURL)
        c.bybitInverseURL = try r.wsURL("BYBIT_WS_URL_INVERSE", default: c.bybitInverseURL)
        c.binanceSpotURL = try r.wsURL("BINANCE_WS_URL_SPOT", default: c.binanceSpotURL)
        c.binanceUSDMURL = try r.wsURL("BINANCE_WS_URL_USDM", default: c.binanceUSDMURL)
        c.bybitRESTURL = try r.httpURL("BYBIT_REST_URL", default: c.bybitRESTURL)
        c.binanceSpotRESTURL = try r.httpURL("BINANCE_REST_URL_SPOT", default: c.binanceSpotRESTURL)
        c.binanceUSDMRESTURL = try r.httpURL("BINANCE_REST_URL_USDM", default: c.binanceUSDMRESTURL)
        c.catalogueRefreshSeconds = try r.int(
            "CATALOGUE_REFRESH_S", default: c.catalogueRefreshSeconds, in: 10...86_400)
        c.upstreamLingerSeconds = try r.int("UPSTREAM_LINGER_S", default: c.upstreamLingerSeconds, in: 0...86_400)
        c.maxClients = try r.int("MAX_CLIENTS", default: c.maxClients, in: 1...1_000_000)
        c.maxSubscriptionsPerClient = try r.int(
            "MAX_SUBSCRIPTIONS_PER_CLIENT", default: c.maxSubscriptionsPerClient, in: 1...100_000)
        c.maxMessageRatePerClient = try r.int(
            "MAX_MESSAGE_RATE_PER_CLIENT", default: c.maxMessageRatePerClient, in: 1...1_000_000)
        c.maxClientFrameBytes = try r.int(
            "MAX_CLIENT_FRAME_BYTES", default: c.maxClientFrameBytes, in: 256...16_777_216)
        c.maxClientFragments = try r.int("MAX_CLIENT_FRAGMENTS", default: c.maxClientFragments, in: 1...10_000)
        c.clientIdleTimeoutSeconds = try r.int(
            "CLIENT_IDLE_TIMEOUT", default: c.clientIdleTimeoutSeconds, in: 1...86_400)
        c.clientMaxQueueBytes = try r.int(
            "CLIENT_MAX_QUEUE_BYTES", default: c.clientMaxQueueBytes, in: 1_024...1_073_741_824)
        c.quoteMaxAgeMs = try r.int("QUOTE_MAX_AGE_MS", default: c.quoteMaxAgeMs, in: 1...86_400_000)
        c.quoteWaitMs = try r.int("QUOTE_WAIT_MS", default: c.quoteWaitMs, in: 0...60_000)
        c.klineHistoryMax = try r.int("KLINE_HISTORY_MAX", default: c.klineHistoryMax, in: 1...10_000_000)
        c.shutdownGraceSeconds = try r.int("SHUTDOWN_GRACE_S", default: c.shutdownGraceSeconds, in: 0...3_600)
        c.logLevel = try r.string(
            "LOG_LEVEL", default: c.logLevel, transform: { $0.lowercased() },
            valid: { TickplexConfig.logLevels.contains($0) },
            allowed: { "one of " + TickplexConfig.logLevels.joined(separator: ", ") })
        c.metricsMaxStreams = try r.int("METRICS_MAX_STREAMS", default: c.metricsMaxStreams, in: 0...100_000)
        c.lastValueTTLMs = try r.int("LAST_VALUE_TTL_MS", default: c.lastValueTTLMs, in: 1_000...86_400_000)
        c.redisConnectTimeoutMs = try r.int(
            "REDIS_CONNECT_TIMEOUT_MS", default: c.redisConnectTimeoutMs, in: 10...600_000)
        c.redisCommandTimeoutMs = try r.int(
            "REDIS_COMMAND_TIMEOUT_MS", default: c.redisCommandTimeoutMs, in: 10...600_000)
        if r.value("REDIS_TLS_CA_FILE") != nil {
            c.redisTLSCAFile = try r.string(
                "REDIS_TLS_CA_FILE", default: "", valid: { FileManager.default.isReadableFile(atPath: $0) },
                allowed: { "the path of a readable PEM file (the CA of the Redis server's certificate)" })
        }
        c.redisTLSInsecure = try r.bool("REDIS_TLS_INSECURE", default: c.redisTLSInsecure)
        if (c.redisTLSCAFile != nil || c.redisTLSInsecure) && c.redisURL?.tls != true {
            throw ConfigError(
                variable: c.redisTLSCAFile != nil ? "REDIS_TLS_CA_FILE" : "REDIS_TLS_INSECURE",
                value: c.redisTLSCAFile ?? "true", allowed: "a rediss:// REDIS_URL (it only applies to TLS)")
        }
        c.maxConnections = try r.int("MAX_CONNECTIONS", default: c.maxConnections, in: 1...10_000_000)
        c.maxConnectionsPerIP = try r.int("MAX_CONNECTIONS_PER_IP", default: c.maxConnectionsPerIP, in: 1...10_000_000)
        c.maxNewConnectionsPerIPPerMin = try r.int(
            "MAX_NEW_CONNECTIONS_PER_IP_PER_MIN", default: c.maxNewConnectionsPerIPPerMin, in: 1...10_000_000)
        c.httpHeadTimeoutMs = try r.int("HTTP_HEAD_TIMEOUT_MS", default: c.httpHeadTimeoutMs, in: 100...600_000)
        c.httpIdleTimeoutSeconds = try r.int("HTTP_IDLE_TIMEOUT_S", default: c.httpIdleTimeoutSeconds, in: 1...86_400)
        c.trustProxyHeaders = try r.bool("TRUST_PROXY_HEADERS", default: c.trustProxyHeaders)
        c.clientWriteStallSeconds = try r.int(
            "CLIENT_WRITE_STALL_S", default: c.clientWriteStallSeconds, in: 1...86_400)
        c.maxUpstreamStreams = try r.int("MAX_UPSTREAM_STREAMS", default: c.maxUpstreamStreams, in: 1...1_000_000)
        c.maxNewStreamsPerClientPerMin = try r.int(
            "MAX_NEW_STREAMS_PER_CLIENT_PER_MIN", default: c.maxNewStreamsPerClientPerMin, in: 1...1_000_000)
        c.bybitConnectBudgetPer5Min = try r.int(
            "BYBIT_CONNECT_BUDGET_PER_5MIN", default: c.bybitConnectBudgetPer5Min, in: 1...499,
            note: " (Bybit allows 500 per 5 minutes per domain)")
        c.binanceConnectBudgetPer5Min = try r.int(
            "BINANCE_CONNECT_BUDGET_PER_5MIN", default: c.binanceConnectBudgetPer5Min, in: 1...299,
            note: " (Binance allows 300 per 5 minutes per IP)")
        c.authMode = try r.enumeration("AUTH_MODE", default: c.authMode)
        c.apiKeys = try r.list("API_KEYS") { key in
            guard key.hasPrefix("sha256:") else { return !key.contains(" ") }
            let hex = key.dropFirst("sha256:".count)
            return hex.count == 64 && hex.allSatisfy(\.isHexDigit)
        } allowed: {
            "comma-separated keys; a hashed key is sha256:<64 hex digits>"
        }
        if r.value("API_KEYS_REDIS_SET") != nil {
            c.apiKeysRedisSet = try r.string(
                "API_KEYS_REDIS_SET", default: "", valid: { !$0.contains(where: \.isWhitespace) && c.redisURL != nil },
                allowed: { "a Redis key name without spaces, with REDIS_URL set" })
        }
        if c.authMode == .apikey && c.apiKeys.isEmpty && c.apiKeysRedisSet == nil {
            throw ConfigError(
                variable: "AUTH_MODE", value: "apikey",
                allowed: "API_KEYS or API_KEYS_REDIS_SET set too (no key would let nobody in)")
        }
        if r.value("JWT_SECRET") != nil {
            c.jwtSecret = try r.string(
                "JWT_SECRET", default: "", valid: { $0.utf8.count >= 32 },
                allowed: { "at least 32 bytes (an HS256 key shorter than its hash is weak)" })
        }
        if r.value("JWT_JWKS_FILE") != nil {
            c.jwtJWKSFile = try r.string(
                "JWT_JWKS_FILE", default: "", valid: { FileManager.default.isReadableFile(atPath: $0) },
                allowed: { "the path of a readable JWKS (JSON) file" })
        }
        if c.authMode == .jwt && c.jwtSecret == nil && c.jwtJWKSFile == nil {
            throw ConfigError(
                variable: "AUTH_MODE", value: "jwt",
                allowed: "JWT_SECRET or JWT_JWKS_FILE set too (keys to verify with)")
        }
        c.allowedOrigins = try r.list("ALLOWED_ORIGINS") { origin in
            (origin.hasPrefix("http://") || origin.hasPrefix("https://")) && !origin.hasSuffix("/")
        } allowed: {
            "comma-separated origins such as https://app.example.com (scheme and host, no path)"
        }
        if r.value("ADMIN_TOKEN") != nil {
            c.adminToken = try r.string(
                "ADMIN_TOKEN", default: "", valid: { $0.count >= 16 && !$0.contains(where: \.isWhitespace) },
                allowed: { "at least 16 characters without spaces" })
        }
        return c
    }

    /// Reads one variable at a time; an empty value counts as unset so that `FOO=` in a `.env` keeps the default.
    private struct Reader {
        let env: [String: String]

        func value(_ name: String) -> String? {
            guard let v = env[name], !v.isEmpty else { return nil }
            return v
        }

        func int(_ name: String, default d: Int, in range: ClosedRange<Int>, note: String = "") throws(ConfigError)
            -> Int
        {
            guard let raw = value(name) else { return d }
            guard let v = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
                throw ConfigLoader.invalid(
                    name, raw, allowed: "a whole number from \(range.lowerBound) to \(range.upperBound)\(note)")
            }
            return v
        }

        func string(
            _ name: String, default d: String, transform: (String) -> String = { $0 },
            valid: (String) -> Bool, allowed: () -> String
        ) throws(ConfigError) -> String {
            guard let raw = value(name) else { return d }
            let v = transform(raw)
            guard valid(v) else { throw ConfigLoader.invalid(name, raw, allowed: allowed()) }
            return v
        }

        func bool(_ name: String, default d: Bool) throws(ConfigError) -> Bool {
            guard let raw = value(name) else { return d }
            switch raw.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: throw ConfigLoader.invalid(name, raw, allowed: "true or false")
            }
        }

        /// A comma-separated list.
        func list(_ name: String, valid: (String) -> Bool, allowed: () -> String) throws(ConfigError) -> [String] {
            guard let raw = value(name) else { return [] }
            let items = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            for item in items where !valid(item) { throw ConfigLoader.invalid(name, raw, allowed: allowed()) }
            return items
        }

        func enumeration<E: RawRepresentable & CaseIterable>(_ name: String, default d: E) throws(ConfigError) -> E
        where E.RawValue == String {
            guard let raw = value(name) else { return d }
            guard let v = E(rawValue: raw.lowercased()) else {
                let list = E.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigLoader.invalid(name, raw, allowed: "one of \(list)")
            }
            return v
        }

        /// An `http://` or `https://` base URL with a host and no query (REST endpoints are appended to it).
        func httpURL(_ name: String, default d: String) throws(ConfigError) -> String {
            guard let raw = value(name) else { return d }
            let lower = raw.lowercased()
            let rest =
                lower.hasPrefix("https://")
                ? raw.dropFirst(8) : lower.hasPrefix("http://") ? raw.dropFirst(7) : nil
            guard let rest, let host = rest.split(separator: "/", omittingEmptySubsequences: false).first,
                !host.isEmpty, !host.contains("@"), !raw.contains("?"), !raw.contains(" ")
            else {
                throw ConfigLoader.invalid(
                    name, raw, allowed: "an http:// or https:// URL with a host, e.g. https://api.bybit.com")
            }
            return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
        }

        func wsURL(_ name: String, default d: WebSocketURL) throws(ConfigError) -> WebSocketURL {
            guard let raw = value(name) else { return d }
            guard let url = WebSocketURL(raw) else {
                throw ConfigLoader.invalid(name, raw, allowed: WebSocketURL.allowedForm)
            }
            return url
        }
    }
}
