import Testing

@testable import TickplexConfig

@Suite("REDIS_URL and upstream URL parsing")
struct URLParsingTests {
    @Test("redis URLs in every accepted form")
    func redisForms() {
        #expect(RedisURL("redis://127.0.0.1:6379/0") == RedisURL(host: "127.0.0.1", port: 6379))
        #expect(RedisURL("redis://localhost") == RedisURL(host: "localhost", port: 6379))
        #expect(RedisURL("redis://:s3cret@h:1/4") == RedisURL(host: "h", port: 1, password: "s3cret", database: 4))
        #expect(RedisURL("redis://user:pw@h:2") == RedisURL(host: "h", port: 2, username: "user", password: "pw"))
        #expect(RedisURL("redis://:p%40ss@h") == RedisURL(host: "h", password: "p@ss"))
        #expect(RedisURL("redis://[::1]:6380/1") == RedisURL(host: "::1", port: 6380, database: 1))
        #expect(
            RedisURL("rediss://:pw@h:6380/2") == RedisURL(host: "h", port: 6380, password: "pw", database: 2, tls: true)
        )
        #expect(RedisURL("rediss://h")?.description == "rediss://h:6379/0")
        #expect(RedisURL("redis://h")?.tls == false)
    }

    @Test(
        "malformed redis URLs are rejected",
        arguments: [
            "", "redis://", "http://h", "redis://h:0", "redis://h:x", "redis://h/-1", "redis://[::1", "rediss://",
            "redisss://h",
        ])
    func redisRejects(_ text: String) {
        #expect(RedisURL(text) == nil)
    }

    @Test("the password never appears in the description")
    func redisDescriptionHidesPassword() {
        let url = RedisURL("redis://:topsecret@h:1/0")!
        #expect(!url.description.contains("topsecret"))
        #expect(url.description == "redis://:***@h:1/0")
    }

    @Test("ws and wss URLs with default ports, paths and queries")
    func websocketForms() {
        #expect(
            WebSocketURL("wss://stream.bybit.com/v5/public/linear")
                == .init(tls: true, host: "stream.bybit.com", port: 443, path: "/v5/public/linear"))
        #expect(WebSocketURL("ws://127.0.0.1:9000") == .init(tls: false, host: "127.0.0.1", port: 9000, path: "/"))
        #expect(WebSocketURL("ws://h:1?x=1")?.path == "/?x=1")
        #expect(WebSocketURL("wss://stream.binance.com:9443")!.appendingPath("/ws").path == "/ws")
        #expect(WebSocketURL("ws://h/base/")!.appendingPath("/stream?streams=").path == "/base/stream?streams=")
    }

    @Test("malformed ws URLs are rejected", arguments: ["", "wss://", "http://h", "ws://h:0", "ws://:80", "ws://u@h"])
    func websocketRejects(_ text: String) {
        #expect(WebSocketURL(text) == nil)
    }
}
