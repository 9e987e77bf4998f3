import Foundation
import NIOCore
import Testing
import TickplexBus
import TickplexTestSupport

@Suite("/health follows Redis")
struct HealthRedisTests {
    @Test("redis-server killed: /health 503 degraded with the reason; restarted: 200 healthy, bus delivers again")
    func killAndRestart() async throws {
        let server = try await RedisServer.start(password: "pw")
        defer { server.stop() }
        try await withNode(["REDIS_URL": server.url]) { port, node in
            #expect(await eventually { (try? await httpGet(port: port, "/health"))?.status == 200 })
            let healthy = try #require(jsonObject(try await httpGet(port: port, "/health").body))
            #expect(healthy["bus"] as? String == "redis")
            let redis = try #require(healthy["redis"] as? [String: Any])
            let commands = try #require(redis["commands"] as? [String: Any])
            #expect(commands["state"] as? String == "connected")
            #expect(commands["pingMs"] as? Double != nil)
            #expect((redis["url"] as? String)?.contains("pw") == false, "the password is never shown")

            try await node.bus.subscribe(["health:ch"])
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
            // Messages published after the resubscribe are all delivered.
            try await node.bus.publish(
                (0..<50).map { BusMessage(channel: "health:ch", payload: ByteBuffer(string: "\($0)")) })
            var got: [String] = []
            for await m in node.bus.messages {
                got.append(String(buffer: m.payload))
                if got.count == 50 { break }
            }
            #expect(got == (0..<50).map { "\($0)" })
        }
    }
}
