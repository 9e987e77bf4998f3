import Foundation
import Testing
import TickplexTestSupport

/// `rediss://` against a `redis-server --tls-port` started by the test with a CA it generated, through the real
/// binary: verification on by default, a wrong CA refused, `REDIS_TLS_INSECURE=true` said loudly, no password shown.
@Suite("Redis over TLS", .serialized)
struct RedisTLSTests {
    static let password = "tls-redis-SECRET-pw"

    /// The node's data path through Redis: a ticker from the simulator reaches a client and the last-value store.
    static func dataFlows(port: Int) async throws -> Bool {
        let client = WireClient(port: port)
        defer { client.close() }
        client.send(#"{"op":"subscribe","args":["ticker:BTCUSDT"]}"#)
        let streamed = await eventually(timeout: .seconds(15)) {
            client.data(for: "tickplex.bybit.linear.ticker.BTCUSDT").count >= 2
        }
        let quote = try await httpGet(port: port, "/v1/quote/BTCUSDT").status
        return streamed && quote == 200
    }

    @Test("rediss:// with REDIS_TLS_CA_FILE: verified, healthy, data flows through the TLS bus")
    func verified() async throws {
        let certs = try TestCertificates.make()
        let redis = try await RedisServer.start(password: Self.password, tls: certs)
        defer { redis.stop() }
        try await TickplexProcess.serving(["REDIS_URL": redis.url, "REDIS_TLS_CA_FILE": certs.caCertificate]) {
            port, process in
            #expect(await eventually { (try? await httpGet(port: port, "/health").status) == 200 })
            let flows = try await Self.dataFlows(port: port)
            #expect(flows)
            #expect(process.stdout.contains("certificate verified against \(certs.caCertificate)"))
            #expect(!(process.stdout + process.stderr).contains(Self.password))
        }
    }

    @Test("a server certificate from another CA is refused: /health degraded with the TLS reason, nothing sent")
    func wrongCA() async throws {
        let certs = try TestCertificates.make()
        let other = try TestCertificates.make()
        let redis = try await RedisServer.start(password: Self.password, tls: certs)
        defer { redis.stop() }
        try await TickplexProcess.serving([
            "REDIS_URL": redis.url, "REDIS_TLS_CA_FILE": other.caCertificate, "REDIS_CONNECT_TIMEOUT_MS": "500",
        ]) { port, process in
            try await Task.sleep(for: .seconds(2))
            let health = try await httpGet(port: port, "/health")
            #expect(health.status == 503)
            #expect(health.body.lowercased().contains("tls"), "\(health.body)")
            let all = process.stdout + process.stderr + health.body
            #expect(all.lowercased().contains("certificate"), "the reason names the certificate")
            #expect(!all.contains(Self.password))
        }
    }

    @Test("the system's trust roots (no CA file) do not accept a private CA; REDIS_TLS_INSECURE=true does, loudly")
    func systemRootsAndInsecure() async throws {
        let certs = try TestCertificates.make()
        let redis = try await RedisServer.start(tls: certs)
        defer { redis.stop() }
        try await TickplexProcess.serving(["REDIS_URL": redis.url, "REDIS_CONNECT_TIMEOUT_MS": "500"]) { port, _ in
            try await Task.sleep(for: .seconds(2))
            #expect(try await httpGet(port: port, "/health").status == 503)
        }
        try await TickplexProcess.serving(["REDIS_URL": redis.url, "REDIS_TLS_INSECURE": "true"]) { port, process in
            #expect(await eventually { (try? await httpGet(port: port, "/health").status) == 200 })
            #expect(process.stdout.contains("REDIS_TLS_INSECURE=true"))
            #expect(process.stdout.contains("NOT verified"))
        }
    }

    @Test("TLS settings without a rediss:// URL, or a CA file that is not there, stop start-up with exit code 2")
    func badSettings() async throws {
        for env in [
            ["REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TLS_INSECURE": "true"],
            ["REDIS_URL": "rediss://127.0.0.1:1/0", "REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"],
        ] {
            let result = try await TickplexProcess.run(arguments: ["serve"], environment: env)
            #expect(result.exitCode == 2, "\(env)")
            #expect(result.stderr.contains("REDIS_TLS"), "\(result.stderr)")
        }
    }
}
