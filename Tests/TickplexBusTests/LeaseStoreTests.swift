import Testing
import TickplexBus
import TickplexRedis
import TickplexTestSupport

/// The lease that scale-out builds on: one holder at a time, renewed and released only by its holder, lost when
/// not renewed. The same contract in Redis (real `redis-server`) and in-process.
@Suite("Stream leases (Redis and in-process)")
struct LeaseStoreTests {
    static func exercise(_ store: any LeaseStore) async throws {
        // Long enough that a loaded machine never lets a held lease lapse between two steps.
        let ttl = Duration.seconds(10)
        #expect(try await store.acquire("lease:a", token: "node-1:1", ttl: ttl))
        #expect(try await !store.acquire("lease:a", token: "node-2:1", ttl: ttl), "held: a second node cannot take it")
        #expect(try await store.holder("lease:a") == "node-1:1")
        #expect(try await store.renew("lease:a", token: "node-1:1", ttl: ttl))
        #expect(try await !store.renew("lease:a", token: "node-2:1", ttl: ttl), "only the holder renews")
        #expect(try await !store.release("lease:a", token: "node-2:1"), "only the holder releases")
        #expect(try await store.release("lease:a", token: "node-1:1"))
        #expect(try await store.holder("lease:a") == nil)
        // Not renewed: lost after the TTL, then another takes it, and the old holder can neither renew nor release.
        #expect(try await store.acquire("lease:b", token: "node-1:2", ttl: .milliseconds(300)))
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await store.acquire("lease:b", token: "node-2:2", ttl: ttl), "expired: taken over")
        #expect(try await !store.renew("lease:b", token: "node-1:2", ttl: ttl), "a paused old holder cannot renew")
        #expect(try await !store.release("lease:b", token: "node-1:2"))
        #expect(try await store.holder("lease:b") == "node-2:2")
    }

    @Test("in-process")
    func inMemory() async throws {
        try await Self.exercise(InMemoryLeaseStore())
    }

    @Test("Redis: SET NX PX to take, token-checked Lua to renew and release")
    func redis() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        try await withRedisBus(server) { bus in
            try await Self.exercise(RedisLeaseStore(client: bus.client))
            // What other tools see: the token under the name, with a TTL.
            #expect(try await RedisLeaseStore(client: bus.client).acquire("lease:c", token: "n:3", ttl: .seconds(5)))
            let pttl = try await bus.client.send(.init("PTTL", "lease:c")).int ?? -1
            #expect(pttl > 0 && pttl <= 5000)
        }
    }
}
