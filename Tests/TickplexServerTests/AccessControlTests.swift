import Foundation
import HTTPTypes
import Testing
import TickplexTestSupport

/// AUTH_MODE=apikey, ALLOWED_ORIGINS and ADMIN_TOKEN over real sockets against the real binary.
@Suite("Access control against the real binary", .serialized)
struct AccessControlTests {
    static let hashedKey = "sha256:7b8670d71925066ed38b028a4457c03a28cdf42b96cacdf5755f93073bfec9eb"  // key-two-hashed

    @Test(
        "apikey: no or a bad key → 401 before the upgrade and on REST; a plain or hashed key by header or ?token= works"
    )
    func apiKeys() async throws {
        try await TickplexProcess.serving(["AUTH_MODE": "apikey", "API_KEYS": "key-one-plain,\(Self.hashedKey)"]) {
            port, _ in
            let cases: [(target: String, headers: [(String, String)], status: Int)] = [
                ("/ws", [], 401),
                ("/ws", [("Authorization", "Bearer wrong-key")], 401),
                ("/ws?token=key-two-hashe", [], 401),
                ("/ws", [("Authorization", "Bearer key-one-plain")], 101),
                ("/ws?token=key-two-hashed", [], 101),
                ("/ws?token=key-one-plain", [("Authorization", "Bearer key-two-hashed")], 101),
            ]
            for c in cases {
                let client = try await RawWebSocketClient.connect(
                    port: port, target: c.target, headers: [("Upgrade", "websocket")] + c.headers)
                _ = await client.handshake()
                #expect(client.received.handshakeStatus == c.status, "\(c.target) \(c.headers)")
                if c.status == 401 {
                    #expect(client.received.handshakeText.contains("API key"), "the 401 says why")
                } else {
                    try await client.send(#"{"op":"ping"}"#)
                    #expect(await eventually { client.received.texts.contains { $0.contains("pong") } })
                }
                client.close()
            }
            let without = try await httpRequest(port: port, .get, "/v1/quote/BTCUSDT")
            #expect(without.status == 401)
            #expect(without.headers[.wwwAuthenticate] == "Bearer")
            let bad = try await httpRequest(port: port, .get, "/v1/klines?symbol=BTCUSDT&interval=1m&token=nope")
            #expect(bad.status == 401)
            let good = try await httpRequest(
                port: port, .get, "/v1/klines?symbol=BTCUSDT&interval=1m",
                headers: [.authorization: "Bearer key-one-plain"])
            #expect(good.status == 200, "\(good.body)")
            let query = try await httpRequest(
                port: port, .get, "/v1/klines?symbol=BTCUSDT&interval=1m&token=key-two-hashed")
            #expect(query.status == 200)
            #expect(try await httpGet(port: port, "/ready").status == 200, "probes stay open")
            #expect([200, 503].contains(try await httpGet(port: port, "/health").status))
        }
    }

    @Test(
        "API_KEYS_REDIS_SET: keys (plain or sha256:) read from a Redis set at each connection; added and revoked live")
    func apiKeysInRedis() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        func cli(_ args: String...) throws { try runTool("redis-cli", ["-p", "\(redis.port)"] + args) }
        try cli("SADD", "tickplex:api-keys", "redis-key-plain", Self.hashedKey)
        try await TickplexProcess.serving([
            "AUTH_MODE": "apikey", "API_KEYS_REDIS_SET": "tickplex:api-keys", "REDIS_URL": redis.url,
        ]) { port, _ in
            func status(_ key: String) async throws -> Int? {
                let c = try await RawWebSocketClient.connect(port: port, target: "/ws?token=\(key)")
                defer { c.close() }
                return await c.handshake()
            }
            #expect(try await status("redis-key-plain") == 101)
            #expect(try await status("key-two-hashed") == 101, "the sha256: member admits its key")
            #expect(try await status("not-a-member") == 401)
            try cli("SADD", "tickplex:api-keys", "added-later")
            #expect(try await status("added-later") == 101, "a key added to the set works at once")
            try cli("SREM", "tickplex:api-keys", "redis-key-plain")
            #expect(try await status("redis-key-plain") == 401, "a revoked key is refused at once")
            let path = "/v1/klines?symbol=BTCUSDT&interval=1m"
            #expect(try await httpGet(port: port, path + "&token=added-later").status == 200)
            #expect(try await httpGet(port: port, path + "&token=not-a-member").status == 401)
        }
    }

    @Test("AUTH_MODE=none on a non-loopback address is a warning in the log; on loopback it is not")
    func openWarning() async throws {
        try await TickplexProcess.serving(["HOST": "0.0.0.0"]) { _, process in
            #expect(await eventually { process.stdout.contains("WARNING: AUTH_MODE=none while listening on 0.0.0.0") })
        }
        try await TickplexProcess.serving([:]) { _, process in
            #expect(process.stdout.contains("auth: none"))
            #expect(!process.stdout.contains("WARNING: AUTH_MODE=none"))
        }
    }

    @Test("ALLOWED_ORIGINS: a browser upgrade from another origin → 403; an allowed one or none → 101")
    func origins() async throws {
        try await TickplexProcess.serving(["ALLOWED_ORIGINS": "https://app.example.com,http://localhost:3000"]) {
            port, _ in
            for (origin, status) in [
                ("https://evil.example", 403), ("https://app.example.com.evil.example", 403), ("null", 403),
                ("https://app.example.com", 101), ("HTTP://LOCALHOST:3000", 101),
            ] {
                let c = try await RawWebSocketClient.connect(
                    port: port, headers: [("Upgrade", "websocket"), ("Origin", origin)])
                _ = await c.handshake()
                #expect(c.received.handshakeStatus == status, "\(origin)")
                if status == 403 { #expect(c.received.handshakeText.contains("not allowed")) }
                c.close()
            }
            let none = try await RawWebSocketClient.connect(port: port)
            #expect(await none.handshake() == 101, "non-browser clients send no Origin")
            none.close()
        }
    }

    @Test("ADMIN_TOKEN guards /stats and /metrics; /ready and /health stay open and show no secret")
    func adminToken() async throws {
        let token = "admin-token-for-the-test-1234"
        try await TickplexProcess.serving(["ADMIN_TOKEN": token]) { port, _ in
            for path in ["/stats", "/metrics"] {
                #expect(try await httpGet(port: port, path).status == 401, "\(path)")
                #expect(try await httpGet(port: port, path + "?token=wrong-token").status == 401, "\(path)")
                let ok = try await httpRequest(port: port, .get, path, headers: [.authorization: "Bearer \(token)"])
                #expect(ok.status == 200, "\(path)")
                #expect(try await httpGet(port: port, path + "?token=\(token)").status == 200, "\(path)")
            }
            #expect(try await httpGet(port: port, "/ready").status == 200)
            let health = try await httpGet(port: port, "/health")
            #expect([200, 503].contains(health.status))
            #expect(!health.body.contains(token))
        }
    }

    @Test("no secret in any log line, error or endpoint: Redis password, API keys, admin token")
    func noSecretsAnywhere() async throws {
        let secrets = ["redis-pass-SECRET-1", "api-key-SECRET-2", "admin-token-SECRET-3-xyz"]
        // A Redis URL that points nowhere: the node logs its connection failures, which must not name the password.
        let unreachable = freeLoopbackPort()
        try await TickplexProcess.serving([
            "REDIS_URL": "redis://user:\(secrets[0])@127.0.0.1:\(unreachable)/0", "AUTH_MODE": "apikey",
            "API_KEYS": secrets[1], "ADMIN_TOKEN": secrets[2], "LOG_LEVEL": "debug", "REDIS_CONNECT_TIMEOUT_MS": "200",
        ]) { port, process in
            var bodies: [String] = []
            for path in ["/health", "/ready", "/stats?token=\(secrets[2])", "/metrics?token=\(secrets[2])", "/"] {
                bodies.append(try await httpGet(port: port, path).body)
            }
            let refused = try await RawWebSocketClient.connect(port: port, target: "/ws?token=wrong")
            #expect(await eventually { refused.received.handshakeStatus == 401 })
            bodies.append(refused.received.handshakeText)
            refused.close()
            try await Task.sleep(for: .seconds(1))
            let everything = ([process.stdout, process.stderr] + bodies).joined(separator: "\n")
            #expect(
                everything.contains("redis://user:***@127.0.0.1"),
                "the log names the Redis address without its password")
            for secret in secrets { #expect(!everything.contains(secret), "\(secret) leaked") }
        }
        // A bad configuration value is refused without repeating the secret.
        let bad = try await TickplexProcess.run(
            arguments: ["serve"],
            environment: ["REDIS_URL": "redis://u:\(secrets[0])@host:notaport", "ADMIN_TOKEN": "x"])
        #expect(bad.exitCode == 2)
        for secret in secrets { #expect(!(bad.stdout + bad.stderr).contains(secret)) }
    }
}
