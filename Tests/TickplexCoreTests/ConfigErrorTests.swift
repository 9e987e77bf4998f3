import Testing

@testable import TickplexCore

/// One bad value per case: the variable, the value and the allowed form appear in the error.
struct BadValue: Sendable, CustomTestStringConvertible {
    let variable: String
    let value: String
    let allowedFragment: String
    var testDescription: String { "\(variable)=\(value)" }

    static let all: [BadValue] = [
        .init(variable: "PORT", value: "abc", allowedFragment: "whole number from 0 to 65535"),
        .init(variable: "PORT", value: "70000", allowedFragment: "whole number from 0 to 65535"),
        .init(variable: "PORT", value: "-1", allowedFragment: "whole number"),
        .init(variable: "HOST", value: "a b", allowedFragment: "host name or IP address"),
        .init(variable: "REDIS_URL", value: "http://localhost:6379", allowedFragment: "redis://"),
        .init(variable: "REDIS_URL", value: "redis://:pw@", allowedFragment: "redis://"),
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
            return e.variable == bad.variable && e.value == bad.value && text.contains(bad.variable)
                && text.contains("\"\(bad.value)\"") && text.contains(bad.allowedFragment)
        }
    }

    @Test("every variable of the contract has at least one bad-value case")
    func coverage() {
        let covered = Set(BadValue.all.map(\.variable))
        #expect(Set(ConfigLoader.variables).subtracting(covered) == [])
    }
}
