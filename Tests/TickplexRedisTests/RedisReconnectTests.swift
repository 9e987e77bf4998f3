import NIOCore
import Testing
import TickplexTestSupport

@testable import TickplexRedis

@Suite("Reconnect after redis-server dies")
struct RedisReconnectTests {
    @Test("killed and restarted under a live subscription: reconnects, resubscribes, delivers what follows")
    func killAndRestart() async throws {
        let server = try await RedisServer.start(password: "pw")
        defer { server.stop() }
        let received = LockedList<String>()
        let subscriber = RedisSubscriber(configuration: redisConfiguration(server), logger: quietLogger) { m in
            received.append("\(m.channel)=\(String(buffer: m.payload))")
        }
        let client = RedisClient(configuration: redisConfiguration(server), logger: quietLogger)
        try await withRunning([subscriber, client]) {
            let channels = (0..<20).map { "live:\($0)" }
            try await subscriber.subscribe(channels)
            _ = try await client.send(channels.map { .publish($0, ByteBuffer(string: "before")) })
            #expect(await eventually { received.count == 20 })

            server.kill()
            // Both connections notice and report it.
            #expect(await bothDisconnected(subscriber, client))
            let status = await client.status
            guard case .reconnecting(_, let lastError) = status else {
                Issue.record("expected reconnecting, got \(status)")
                return
            }
            #expect(!lastError.isEmpty)
            // Commands fail fast with a clear error while Redis is away.
            await #expect(throws: RedisError.self) { try await client.send(RedisCommand("PING")) }

            try await server.launch()
            try await subscriber.waitUntilConnected(timeout: .seconds(10))
            try await client.waitUntilConnected(timeout: .seconds(10))
            // Re-AUTHed (the server requires a password) and re-SUBSCRIBEd every channel.
            let replies = try await client.send(channels.map { .publish($0, ByteBuffer(string: "after")) })
            #expect(replies == Array(repeating: .integer(1), count: 20), "every channel has its subscriber back")
            #expect(await eventually { received.count == 40 })
            let after = received.values.filter { $0.hasSuffix("=after") }
            #expect(Set(after) == Set(channels.map { "\($0)=after" }))
        }
    }

    @Test("a subscribe issued while Redis is down is applied on reconnect")
    func subscribeWhileDown() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let received = LockedList<String>()
        let subscriber = RedisSubscriber(configuration: redisConfiguration(server), logger: quietLogger) { m in
            received.append(m.channel)
        }
        let client = RedisClient(configuration: redisConfiguration(server), logger: quietLogger)
        try await withRunning([subscriber, client]) {
            server.kill()
            // Both connections must have noticed, or the client's "connected" below could be the stale one.
            #expect(await bothDisconnected(subscriber, client))
            try await subscriber.subscribe(["late"])
            try await server.launch()
            try await subscriber.waitUntilConnected(timeout: .seconds(10))
            try await client.waitUntilConnected(timeout: .seconds(10))
            #expect(try await client.send(.publish("late", ByteBuffer(string: "x"))) == .integer(1))
            #expect(await eventually { received.values == ["late"] })
        }
    }
}

/// Both connections have noticed that Redis is gone (a stale "connected" would mislead the next step).
func bothDisconnected(_ subscriber: RedisSubscriber, _ client: RedisClient) async -> Bool {
    await eventually {
        let s = await subscriber.status
        let c = await client.status
        return !s.isConnected && !c.isConnected
    }
}
