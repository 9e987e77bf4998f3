import Foundation
import NIOCore
import Testing
import TickplexBus
import TickplexTestSupport

@Suite("/health follows Redis")
struct HealthRedisTests {
    @Test("redis-server killed: /health 503 degraded with the reason; restarted: 200 healthy, delivery resumes")
    func killAndRestart() async throws {
        let server = try await RedisServer.start(password: "pw")
        defer { server.stop() }
        // The simulator feeds data through the Redis bus to a real WebSocket client.
        try await withNode(["REDIS_URL": server.url, "UPSTREAM": "sim"]) { port, node in
            #expect(await eventually { (try? await httpGet(port: port, "/health"))?.status == 200 })
            let healthy = try #require(jsonObject(try await httpGet(port: port, "/health").body))
            #expect(healthy["bus"] as? String == "redis")
            let redis = try #require(healthy["redis"] as? [String: Any])
            let commands = try #require(redis["commands"] as? [String: Any])
            #expect(commands["state"] as? String == "connected")
            #expect(commands["pingMs"] as? Double != nil)
            #expect((redis["url"] as? String)?.contains("pw") == false, "the password is never shown")

            let client = WireClient(port: port)
            client.send(#"{"op":"subscribe","args":["trade:ETHUSDT"]}"#)
            let stream = "tickplex.bybit.linear.trade.ETHUSDT"
            #expect(await eventually { client.data(for: stream).count >= 5 })

            server.kill()
            #expect(await eventually { (try? await httpGet(port: port, "/health"))?.status == 503 })
            let degraded = try await httpGet(port: port, "/health")
            let json = try #require(jsonObject(degraded.body))
            #expect(json["ok"] as? Bool == false)
            #expect(json["status"] as? String == "degraded")
            let reasons = try #require(json["reasons"] as? [String])
            #expect(reasons.contains { $0.hasPrefix("redis commands:") })
            #expect(reasons.contains { $0.hasPrefix("redis subscriber:") })
            // /ready keeps answering: the process is up, only a dependency is not.
            #expect(try await httpGet(port: port, "/ready").status == 200)

            try await server.launch()
            #expect(await eventually { (try? await httpGet(port: port, "/health"))?.status == 200 })
            // After the resubscribe, every message published reaches the client: consecutive seqs again.
            let before = client.data(for: stream).count
            #expect(await eventually { client.data(for: stream).count >= before + 10 })
            let after = client.data(for: stream).dropFirst(before + 1).compactMap { ($0["seq"] as? NSNumber)?.intValue }
            #expect(zip(after, after.dropFirst()).allSatisfy { $1 == $0 + 1 }, "no gap after the restart: \(after)")
            _ = node
            client.close()
        }
    }
}
