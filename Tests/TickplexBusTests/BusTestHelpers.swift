import Logging
import NIOCore
import TickplexBus
import TickplexConfig
import TickplexModel
import TickplexRedis
import TickplexTestSupport

var quietLogger: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

func redisClient(_ server: RedisServer) -> RedisClient {
    RedisClient(
        configuration: RedisConfiguration(
            url: RedisURL(server.url)!, keepAliveInterval: .seconds(1),
            reconnectBackoff: Backoff(initial: .milliseconds(50), maximum: .milliseconds(500))),
        logger: quietLogger)
}

/// Runs a Redis bus's client and subscriber for the duration of `body`.
func withRedisBus<T: Sendable>(
    _ server: RedisServer, _ body: @Sendable (RedisBus) async throws -> T
) async throws -> T {
    let bus = RedisBus(client: redisClient(server), logger: quietLogger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await bus.client.run()
            return nil
        }
        group.addTask {
            try await bus.subscriber.run()
            return nil
        }
        try await bus.client.waitUntilConnected(timeout: .seconds(10))
        try await bus.subscriber.waitUntilConnected(timeout: .seconds(10))
        let result = try await body(bus)
        group.cancelAll()
        return result
    }
}

/// Reads `count` messages from the bus, or as many as arrive within `timeout`.
func collect(_ bus: any MessageBus, count: Int, timeout: Duration = .seconds(5)) async -> [BusMessage] {
    await withTaskGroup(of: [BusMessage].self) { group in
        group.addTask {
            var out: [BusMessage] = []
            for await m in bus.messages {
                out.append(m)
                if out.count == count { break }
            }
            return out
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return []
        }
        var result: [BusMessage] = []
        for await part in group {
            if !part.isEmpty || result.isEmpty { result = part }
            group.cancelAll()
            break
        }
        return result
    }
}
