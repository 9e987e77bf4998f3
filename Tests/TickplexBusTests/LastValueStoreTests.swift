import NIOCore
import Testing
import TickplexBus
import TickplexRedis
import TickplexTestSupport

@Suite("Last-value store (in-memory and Redis)")
struct LastValueStoreTests {
    static func ttlMs(_ store: any LastValueStore) -> Int {
        Int(store.ttl.components.seconds * 1000 + store.ttl.components.attoseconds / 1_000_000_000_000_000)
    }

    static func exercise(_ store: any LastValueStore) async throws {
        #expect(try await store.get("missing") == nil)
        try await store.set("k", ByteBuffer(string: #"{"price":"65114.30"}"#))
        let fresh = try #require(try await store.get("k"))
        #expect(String(buffer: fresh.value) == #"{"price":"65114.30"}"#)
        // Bounded by the TTL only: a loaded CI machine can pause seconds between two commands.
        #expect(fresh.ageMs >= 0 && fresh.ageMs < ttlMs(store))
        // Long enough that a busy machine's pause between the next SET and GET does not decide the check below.
        try await Task.sleep(for: .milliseconds(1000))
        let older = try #require(try await store.get("k"))
        #expect(older.ageMs >= 950, "age grows with time: \(older.ageMs)")
        // A new value resets the age.
        try await store.set("k", ByteBuffer(string: "v2"))
        let reset = try #require(try await store.get("k"))
        #expect(String(buffer: reset.value) == "v2" && reset.ageMs < older.ageMs)
        // After the TTL the value is gone: never served stale.
        try await Task.sleep(for: store.ttl + .milliseconds(200))
        #expect(try await store.get("k") == nil)
    }

    @Test("in-memory store")
    func inMemory() async throws {
        try await Self.exercise(InMemoryLastValueStore(ttl: .milliseconds(8000)))
    }

    @Test("Redis store: SET with PX, age from PTTL, value readable by other tools")
    func redis() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        try await withRedisBus(server) { bus in
            let store = RedisLastValueStore(client: bus.client, ttl: .milliseconds(8000))
            try await store.set("tickplex:last:x", ByteBuffer(string: "plain"))
            #expect(try await bus.client.send(.init("GET", "tickplex:last:x")).string == "plain")
            let pttl = try await bus.client.send(.init("PTTL", "tickplex:last:x")).int ?? -1
            #expect(pttl > 0 && pttl <= 8000)
            try await Self.exercise(store)
        }
    }
}
