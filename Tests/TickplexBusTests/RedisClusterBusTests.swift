import Logging
import NIOCore
import Testing
import TickplexBus
import TickplexConfig
import TickplexModel
import TickplexRedis
import TickplexTestSupport

/// The Redis client and bus against a real three-master Redis Cluster: commands reach their slot's master (a
/// pipeline split and put back in order), sharded pub/sub, and a fenced publish of hash-tagged names.
@Suite("Redis Cluster (three masters started by the test)", .serialized)
struct RedisClusterBusTests {
    static func withClusterBus(_ body: @Sendable (RedisBus, RedisClusterServers) async throws -> Void) async throws {
        let cluster = try await RedisClusterServers.start()
        defer { cluster.stop() }
        let client = RedisClient(
            configuration: RedisConfiguration(
                url: RedisURL(cluster.url)!, keepAliveInterval: .seconds(1),
                reconnectBackoff: Backoff(initial: .milliseconds(50), maximum: .milliseconds(500)), cluster: true),
            logger: quietLogger)
        let bus = RedisBus(client: client, logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await bus.client.run() }
            group.addTask { try await bus.subscriber.run() }
            try await bus.client.waitUntilConnected(timeout: .seconds(15))
            try await bus.subscriber.waitUntilConnected(timeout: .seconds(15))
            try await body(bus, cluster)
            group.cancelAll()
        }
    }

    @Test("a pipeline over every master: each command on its slot's master, replies in order")
    func pipeline() async throws {
        try await Self.withClusterBus { bus, cluster in
            let keys = (0..<60).map { "k\($0)" }
            // The keys span all three masters' slot ranges (0–5460, 5461–10922, 10923–16383).
            let thirds = Set(keys.map { RedisClusterSlot.slot($0) * 3 / RedisClusterSlot.count })
            #expect(thirds == [0, 1, 2])
            let sets = try await bus.client.send(keys.map { RedisCommand("SET", .string($0), .string("v-\($0)")) })
            #expect(sets.allSatisfy { $0 == .simpleString("OK") }, "\(sets.filter { $0 != .simpleString("OK") })")
            let gets = try await bus.client.send(keys.map { RedisCommand("GET", .string($0)) })
            #expect(gets.map(\.string) == keys.map { "v-\($0)" })
            // Each master holds only its own part.
            var held = 0
            for node in cluster.nodes {
                let direct = RedisClient(
                    configuration: RedisConfiguration(url: RedisURL(node.url)!), logger: quietLogger)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await direct.run() }
                    try await direct.waitUntilConnected(timeout: .seconds(5))
                    held += Int(try await direct.send(RedisCommand("DBSIZE")).int ?? 0)
                    group.cancelAll()
                }
            }
            #expect(held == keys.count)
        }
    }

    @Test("sharded pub/sub on channels of every master; a fenced publish of hash-tagged names")
    func shardedPubSub() async throws {
        try await Self.withClusterBus { bus, _ in
            let channels = (0..<9).map { "t:{s\($0)}" }
            #expect(Set(channels.map { RedisClusterSlot.slot($0) * 3 / RedisClusterSlot.count }).count >= 2)
            try await bus.subscribe(channels)
            #expect(await bus.channelCount == channels.count)
            for channel in channels { try await bus.publish(channel, ByteBuffer(string: "m-\(channel)")) }
            let received = await collect(bus, count: channels.count)
            #expect(Set(received.map { String(buffer: $0.payload) }) == Set(channels.map { "m-\($0)" }))
            // A stream's lease, seq, last value and channel share a hash tag: one script on one master.
            let names = StreamLeaseNames(lease: "t:lease:{s1}", seq: "t:seq:{s1}", channel: "t:{s1}")
            let leases = RedisStreamLeases(client: bus.client)
            #expect(try await leases.acquire(names, token: "n1:1", ttlMs: 10_000) != nil)
            let reply = try await bus.client.send(
                RedisStreamLeases.fencedPublish(
                    names, token: "n1:1", seq: 5, payload: ByteBuffer(string: "fenced"),
                    lastValue: ("t:last:{s1}", 5000), sharded: true))
            #expect(reply == .integer(1), "\(reply)")
            #expect(await collect(bus, count: 1).map { String(buffer: $0.payload) } == ["fenced"])
            #expect(try await bus.client.send(RedisCommand("GET", "t:last:{s1}")).string == "fenced")
            try await bus.unsubscribe(channels)
            #expect(await bus.channelCount == 0)
        }
    }

    /// Runs `body` with a plain client of one node.
    static func withNode<T: Sendable>(
        _ node: RedisServer, _ body: (RedisClient) async throws -> T
    ) async throws -> T {
        let direct = RedisClient(configuration: RedisConfiguration(url: RedisURL(node.url)!), logger: quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await direct.run() }
            try await direct.waitUntilConnected(timeout: .seconds(5))
            let result = try await body(direct)
            group.cancelAll()
            return result
        }
    }

    @Test("a slot moves to another master: commands follow MOVED, the sharded subscription follows the slot")
    func slotMigration() async throws {
        try await Self.withClusterBus { bus, cluster in
            let key = "t:last:{moving}"
            let channel = "t:{moving}"
            let slot = RedisClusterSlot.slot(key)
            #expect(RedisClusterSlot.slot(channel) == slot)
            #expect(try await bus.client.send(RedisCommand("SET", .string(key), "before")) == .simpleString("OK"))
            try await bus.subscribe([channel])
            try await bus.publish(channel, ByteBuffer(string: "m0"))
            #expect(await collect(bus, count: 1).map { String(buffer: $0.payload) } == ["m0"])
            // Which node serves the slot, and its ids.
            var ids: [String] = []
            var owner = -1
            for (i, node) in cluster.nodes.enumerated() {
                let (id, keys) = try await Self.withNode(node) { direct in
                    (
                        try await direct.send(RedisCommand("CLUSTER", "MYID")).string ?? "",
                        try await direct.send(RedisCommand("CLUSTER", "COUNTKEYSINSLOT", .integer(slot))).int
                    )
                }
                ids.append(id)
                if keys == 1 { owner = i }
            }
            try #require(owner >= 0)
            let target = (owner + 1) % cluster.nodes.count
            let (from, to) = (cluster.nodes[owner], cluster.nodes[target])
            // The migration redis-cli --cluster reshard performs, for one slot.
            let (fromId, toId) = (ids[owner], ids[target])
            try await Self.withNode(to) { direct in
                _ = try await direct.command("CLUSTER", "SETSLOT", .integer(slot), "IMPORTING", .string(fromId))
            }
            try await Self.withNode(from) { direct in
                _ = try await direct.command("CLUSTER", "SETSLOT", .integer(slot), "MIGRATING", .string(toId))
                _ = try await direct.command(
                    "MIGRATE", "127.0.0.1", .integer(to.port), "", 0, 5000, "KEYS", .string(key))
            }
            for node in cluster.nodes {
                try await Self.withNode(node) { direct in
                    _ = try await direct.command("CLUSTER", "SETSLOT", .integer(slot), "NODE", .string(toId))
                }
            }
            // The client's map is stale: its next command meets MOVED, follows it and gets the value.
            #expect(try await bus.client.send(RedisCommand("GET", .string(key))).string == "before")
            #expect(try await bus.client.send(RedisCommand("SET", .string(key), "after")) == .simpleString("OK"))
            let there = try await Self.withNode(to) { try await $0.send(RedisCommand("GET", .string(key))).string }
            #expect(there == "after")
            // The subscription moves with the slot (within a map refresh): the new master counts the subscriber.
            let moved = await eventually(timeout: .seconds(20)) {
                let reply = try? await Self.withNode(to) { direct in
                    try await direct.send(RedisCommand("PUBSUB", "SHARDNUMSUB", .string(channel)))
                }
                guard case .array(let items) = reply, items.count == 2 else { return false }
                return items[1].int == 1
            }
            #expect(moved)
            try await bus.publish(channel, ByteBuffer(string: "moved"))
            #expect(await collect(bus, count: 1).map { String(buffer: $0.payload) } == ["moved"])
        }
    }
}
