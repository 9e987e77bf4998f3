import Testing

@testable import TickplexConfig

/// One bad value per case: the variable, the value and the allowed form appear in the error.
struct BadValue: Sendable, CustomTestStringConvertible {
    let variable: String
    let value: String
    let allowedFragment: String
    /// What the error repeats of the value: the value itself, or a redacted form for secrets.
    var shown: String? = nil
    var testDescription: String { "\(variable)=\(value)" }

    static let all: [BadValue] = [
        .init(variable: "PORT", value: "abc", allowedFragment: "whole number from 0 to 65535"),
        .init(variable: "PORT", value: "70000", allowedFragment: "whole number from 0 to 65535"),
        .init(variable: "PORT", value: "-1", allowedFragment: "whole number"),
        .init(variable: "HOST", value: "a b", allowedFragment: "host name or IP address"),
        .init(variable: "REDIS_URL", value: "http://localhost:6379", allowedFragment: "redis://"),
        .init(variable: "REDIS_URL", value: "redis://:pw@", allowedFragment: "redis://", shown: "redis://***@"),
        .init(
            variable: "REDIS_URL", value: "redis://user:s3cret@host:notaport", allowedFragment: "redis://",
            shown: "redis://***@host:notaport"),
        .init(variable: "REDIS_URL", value: "redis://host:99999", allowedFragment: "redis://"),
        .init(variable: "REDIS_URL", value: "redis://host:6379/x", allowedFragment: "redis://"),
        .init(variable: "BRAND", value: "Tick Plex", allowedFragment: "a-z, 0-9"),
        .init(variable: "DEFAULT_VENUE", value: "kraken", allowedFragment: "bybit.linear, bybit.spot"),
        .init(variable: "UPSTREAM", value: "real", allowedFragment: "one of exchange, sim"),
        .init(variable: "BYBIT_WS_URL_LINEAR", value: "https://stream.bybit.com", allowedFragment: "ws:// or wss://"),
        .init(variable: "BYBIT_WS_URL_SPOT", value: "wss://", allowedFragment: "ws:// or wss://"),
        .init(variable: "BINANCE_WS_URL_SPOT", value: "stream.binance.com", allowedFragment: "ws:// or wss://"),
        .init(variable: "BINANCE_WS_URL_USDM", value: "wss://fstream.binance.com:0", allowedFragment: "ws://"),
        .init(variable: "BYBIT_WS_URL_INVERSE", value: "ws://h:x", allowedFragment: "ws://"),
        .init(variable: "UPSTREAM_LINGER_S", value: "soon", allowedFragment: "0 to 86400"),
        .init(variable: "BYBIT_REST_URL", value: "wss://api.bybit.com", allowedFragment: "http:// or https://"),
        .init(variable: "BINANCE_REST_URL_SPOT", value: "https://", allowedFragment: "http:// or https://"),
        .init(variable: "BINANCE_REST_URL_USDM", value: "https://fapi.binance.com?x=1", allowedFragment: "with a host"),
        .init(variable: "CATALOGUE_REFRESH_S", value: "5", allowedFragment: "from 10 to 86400"),
        .init(variable: "NODE_ID", value: "node one", allowedFragment: "1-64 characters"),
        .init(variable: "ROLE", value: "leader", allowedFragment: "one of all, edge, ingest"),
        .init(variable: "LEASE_TTL_MS", value: "200", allowedFragment: "from 1000 to 60000"),
        .init(variable: "ROLE", value: "edge", allowedFragment: "edge and ingest need REDIS_URL"),
        .init(variable: "REDIS_CLUSTER", value: "true", allowedFragment: "only with REDIS_URL"),
        .init(variable: "REDIS_CLUSTER", value: "maybe", allowedFragment: "true or false"),
        .init(variable: "MAX_CLIENTS", value: "0", allowedFragment: "1 to 1000000"),
        .init(variable: "MAX_SUBSCRIPTIONS_PER_CLIENT", value: "1.5", allowedFragment: "whole number"),
        .init(variable: "MAX_MESSAGE_RATE_PER_CLIENT", value: "0", allowedFragment: "from 1"),
        .init(variable: "MAX_CLIENT_FRAME_BYTES", value: "10", allowedFragment: "from 256"),
        .init(variable: "CLIENT_IDLE_TIMEOUT", value: "0", allowedFragment: "from 1"),
        .init(variable: "CLIENT_MAX_QUEUE_BYTES", value: "1k", allowedFragment: "whole number"),
        .init(variable: "QUOTE_MAX_AGE_MS", value: "0", allowedFragment: "from 1"),
        .init(variable: "QUOTE_WAIT_MS", value: "-5", allowedFragment: "from 0 to 60000"),
        .init(variable: "KLINE_HISTORY_MAX", value: "none", allowedFragment: "whole number"),
        .init(variable: "SHUTDOWN_GRACE_S", value: "99999", allowedFragment: "0 to 3600"),
        .init(variable: "LOG_LEVEL", value: "verbose", allowedFragment: "one of trace, debug, info"),
        .init(variable: "METRICS_MAX_STREAMS", value: "x", allowedFragment: "whole number"),
        .init(variable: "LAST_VALUE_TTL_MS", value: "10", allowedFragment: "from 1000"),
        .init(variable: "REDIS_CONNECT_TIMEOUT_MS", value: "1", allowedFragment: "from 10"),
        .init(variable: "REDIS_COMMAND_TIMEOUT_MS", value: "zero", allowedFragment: "whole number"),
        .init(variable: "MAX_CLIENT_FRAGMENTS", value: "0", allowedFragment: "from 1 to 10000"),
        .init(variable: "MAX_CONNECTIONS", value: "lots", allowedFragment: "whole number"),
        .init(variable: "MAX_CONNECTIONS_PER_IP", value: "0", allowedFragment: "from 1"),
        .init(variable: "MAX_NEW_CONNECTIONS_PER_IP_PER_MIN", value: "-3", allowedFragment: "from 1"),
        .init(variable: "HTTP_HEAD_TIMEOUT_MS", value: "5", allowedFragment: "from 100"),
        .init(variable: "HTTP_IDLE_TIMEOUT_S", value: "0", allowedFragment: "from 1"),
        .init(variable: "TRUST_PROXY_HEADERS", value: "maybe", allowedFragment: "true or false"),
        .init(variable: "CLIENT_WRITE_STALL_S", value: "0", allowedFragment: "from 1"),
        .init(variable: "MAX_UPSTREAM_STREAMS", value: "0", allowedFragment: "from 1"),
        .init(variable: "MAX_NEW_STREAMS_PER_CLIENT_PER_MIN", value: "x", allowedFragment: "whole number"),
        .init(variable: "BYBIT_CONNECT_BUDGET_PER_5MIN", value: "500", allowedFragment: "Bybit allows 500"),
        .init(variable: "BINANCE_CONNECT_BUDGET_PER_5MIN", value: "300", allowedFragment: "Binance allows 300"),
        .init(variable: "AUTH_MODE", value: "magic", allowedFragment: "one of none, apikey"),
        .init(variable: "API_KEYS", value: "ok-key,sha256:nothex", allowedFragment: "sha256:<64", shown: "<hidden>"),
        .init(variable: "ALLOWED_ORIGINS", value: "example.com", allowedFragment: "https://app.example.com"),
        .init(variable: "ADMIN_TOKEN", value: "short secret", allowedFragment: "at least 16", shown: "<hidden>"),
        .init(variable: "REDIS_TLS_CA_FILE", value: "/nonexistent/ca.pem", allowedFragment: "readable PEM file"),
        .init(variable: "REDIS_TLS_INSECURE", value: "sure", allowedFragment: "true or false"),
        .init(variable: "JWT_SECRET", value: "short-secret", allowedFragment: "at least 32 bytes", shown: "<hidden>"),
        .init(variable: "JWT_JWKS_FILE", value: "/nonexistent/jwks.json", allowedFragment: "readable JWKS"),
        .init(variable: "API_KEYS_REDIS_SET", value: "keys", allowedFragment: "with REDIS_URL set"),
    ]
}

@Suite("Configuration errors")
struct ConfigErrorTests {
    @Test("a bad value names the variable, the value and what is allowed", arguments: BadValue.all)
    func badValue(_ bad: BadValue) {
        #expect {
            try ConfigLoader.parse([bad.variable: bad.value])
        } throws: { error in
            guard let e = error as? ConfigError else { return false }
            let text = e.description
            let shown = bad.shown ?? bad.value
            return e.variable == bad.variable && e.value == shown && text.contains(bad.variable)
                && text.contains("\"\(shown)\"") && text.contains(bad.allowedFragment)
        }
    }

    @Test("a secret is never repeated: bad API keys, admin token and a Redis URL's password")
    func secretsHidden() {
        for env in [
            ["API_KEYS": "good-key, sha256:zz-secret-zz"], ["ADMIN_TOKEN": "tiny-secret"],
            ["REDIS_URL": "redis://admin:tiny-secret@host:99999"], ["REDIS_URL": "redis://tiny-secret@/x"],
        ] {
            do {
                _ = try ConfigLoader.parse(env)
                Issue.record("\(env.keys) accepted")
            } catch {
                #expect(!error.description.contains("secret"), "\(error.description)")
            }
        }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(["AUTH_MODE": "apikey"]) }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(["AUTH_MODE": "jwt"]) }
    }

    @Test("every variable of the contract has at least one bad-value case")
    func coverage() {
        let covered = Set(BadValue.all.map(\.variable))
        #expect(Set(ConfigLoader.variables).subtracting(covered) == [])
    }
}
