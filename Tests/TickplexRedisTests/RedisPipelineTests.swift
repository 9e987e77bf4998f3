import NIOCore
import Testing
import TickplexConfig
import TickplexTestSupport

@testable import TickplexRedis

@Suite("Pipelining against a real redis-server")
struct RedisPipelineTests {
    @Test("10,000 pipelined commands from 8 concurrent tasks each get their own reply")
    func tenThousandFromEightTasks() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let client = RedisClient(configuration: redisConfiguration(server), logger: quietLogger)
        let mismatches = try await withRunning([client]) {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        // Each task keeps up to 64 commands of its own in flight, mixing single sends and batches,
                        // so that the connection carries many interleaved requests at once.
                        try await withThrowingTaskGroup(of: Int.self) { inner in
                            var bad = 0
                            var inFlight = 0
                            for i in 0..<1250 {
                                if inFlight == 64 {
                                    bad += try await inner.next()!
                                    inFlight -= 1
                                }
                                inner.addTask {
                                    let payload = "task\(task)-cmd\(i)"
                                    if i % 5 == 0 {
                                        let replies = try await client.send([
                                            RedisCommand("ECHO", .string(payload)),
                                            RedisCommand("INCR", .string("counter:\(task)")),
                                        ])
                                        return replies[0].string == payload && replies[1].int != nil ? 0 : 1
                                    }
                                    return try await client.send(RedisCommand("ECHO", .string(payload))).string
                                        == payload ? 0 : 1
                                }
                                inFlight += 1
                            }
                            for try await r in inner { bad += r }
                            return bad
                        }
                    }
                }
                var total = 0
                for try await r in group { total += r }
                return total
            }
        }
        #expect(mismatches == 0)
        // Every INCR ran exactly once: 250 per task.
        let check = RedisClient(configuration: redisConfiguration(server), logger: quietLogger)
        let counters = try await withRunning([check]) {
            try await check.send((0..<8).map { RedisCommand("GET", .string("counter:\($0)")) })
        }
        #expect(counters.map(\.int) == Array(repeating: 250, count: 8))
    }

    @Test("error replies come back in their place without failing the batch")
    func errorRepliesInPlace() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let client = RedisClient(configuration: redisConfiguration(server), logger: quietLogger)
        let replies = try await withRunning([client]) {
            try await client.send([
                RedisCommand("SET", "k", "v"), RedisCommand("NOSUCHCOMMAND"), RedisCommand("GET", "k"),
                RedisCommand("GET", "missing"),
                RedisCommand("LRANGE", "nolist", 0, -1),
            ])
        }
        #expect(replies[0] == .simpleString("OK"))
        guard case .error(let message) = replies[1] else {
            Issue.record("expected an error reply, got \(replies[1])")
            return
        }
        #expect(message.contains("unknown command"))
        #expect(replies[2].string == "v")
        #expect(replies[3] == .null)
        #expect(replies[4] == .array([]))
    }

    @Test("REDIS_URL database is selected on connect")
    func selectsDatabase() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        var config3 = redisConfiguration(server)
        config3.url.database = 3
        let db3 = RedisClient(configuration: config3, logger: quietLogger)
        let db0 = RedisClient(configuration: redisConfiguration(server), logger: quietLogger)
        let (in3, in0) = try await withRunning([db3, db0]) {
            try await db3.command("SET", "only-in-3", "yes")
            return (
                try await db3.send(RedisCommand("GET", "only-in-3")),
                try await db0.send(RedisCommand("GET", "only-in-3"))
            )
        }
        #expect(in3.string == "yes")
        #expect(in0 == .null)
    }
}
