import NIOCore
import Testing
import TickplexBus
import TickplexRedis
import TickplexTestSupport

/// The lease that scale-out builds on, against a real `redis-server`: one holder at a time, renewed and released
/// only by its holder, lost when not renewed; the last `seq` handed from holder to holder; publishing fenced by
/// the token.
@Suite("Stream leases in Redis")
struct StreamLeasesTests {
    static let a = StreamLeaseNames(lease: "t:lease:a", seq: "t:seq:a", channel: "t:a")

    @Test("one holder; only the holder renews and releases; lost after the TTL, then taken over")
    func holderOnly() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        try await withRedisBus(server) { bus in
            let leases = RedisStreamLeases(client: bus.client)
            // Long enough that a loaded machine never lets a held lease lapse between two steps.
            let ttl = 60_000
            let first = try await leases.acquire(Self.a, token: "n1:1", ttlMs: ttl)
            #expect(first == LeaseGrant(token: "n1:1", previousSeq: 0, cleanHandOver: true, seqKnown: false))
            #expect(try await leases.acquire(Self.a, token: "n2:1", ttlMs: ttl) == nil, "held: no second holder")
            #expect(try await leases.holder(Self.a) == "n1:1")
            #expect(try await leases.renew([(Self.a, "n1:1"), (Self.a, "n2:1")], ttlMs: ttl) == [true, false])
            #expect(try await !leases.release(Self.a, token: "n2:1"), "only the holder releases")
            #expect(try await leases.release(Self.a, token: "n1:1"))
            #expect(try await leases.holder(Self.a) == nil)
            // Not renewed: lost after the TTL; the old holder can neither renew nor release the new one's.
            let b = StreamLeaseNames(lease: "t:lease:b", seq: "t:seq:b", channel: "t:b")
            #expect(try await leases.acquire(b, token: "n1:2", ttlMs: 300) != nil)
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await leases.acquire(b, token: "n2:2", ttlMs: ttl) != nil, "expired: taken over")
            #expect(try await leases.renew([(b, "n1:2")], ttlMs: ttl) == [false], "a paused old holder cannot renew")
            #expect(try await !leases.release(b, token: "n1:2"))
            #expect(try await leases.holder(b) == "n2:2")
            let pttl = try await bus.client.send(.init("PTTL", "t:lease:b")).int ?? -1
            #expect(pttl > 0 && pttl <= 60_000)
        }
    }

    @Test("fenced publish: only the holder's events are stored and published; the next holder continues its seq")
    func fencedPublish() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        try await withRedisBus(server) { bus in
            let leases = RedisStreamLeases(client: bus.client)
            try await bus.subscribe(["t:a"])
            _ = try await leases.acquire(Self.a, token: "n1:1", ttlMs: 10_000)
            func publish(_ token: String, _ seq: UInt64) async throws -> RESPValue {
                try await bus.client.send(
                    RedisStreamLeases.fencedPublish(
                        Self.a, token: token, seq: seq, payload: ByteBuffer(string: "m\(seq)"),
                        lastValue: ("t:last:a", 5000)))
            }
            #expect(try await publish("n1:1", 7) == .integer(1))
            #expect(try await publish("n2:9", 8) == .integer(0), "not the holder: nothing written")
            #expect(try await bus.client.send(.init("GET", "t:last:a")).string == "m7")
            var received: [String] = []
            for await message in bus.messages {
                received.append(String(buffer: message.payload))
                break
            }
            #expect(received == ["m7"])
            // Cut off (not released): the next holder learns seq 7 and that it takes over.
            _ = try await bus.client.send(.init("DEL", "t:lease:a"))
            let unclean = try await leases.acquire(Self.a, token: "n2:1", ttlMs: 10_000)
            #expect(unclean == LeaseGrant(token: "n2:1", previousSeq: 7, cleanHandOver: false, seqKnown: true))
            // Released cleanly: the next holder continues the seq without announcing a takeover.
            #expect(try await leases.release(Self.a, token: "n2:1"))
            let clean = try await leases.acquire(Self.a, token: "n3:1", ttlMs: 10_000)
            #expect(clean == LeaseGrant(token: "n3:1", previousSeq: 7, cleanHandOver: true, seqKnown: true))
            // A shutdown gives the lease up unclean: the next holder tells the clients.
            #expect(try await leases.release(Self.a, token: "n3:1", clean: false))
            #expect(try await leases.acquire(Self.a, token: "n4:1", ttlMs: 10_000)?.cleanHandOver == false)
        }
    }

    @Test("cluster demand: renewed entries live, removed or expired ones gone")
    func demand() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        try await withRedisBus(server) { bus in
            let demand = ClusterDemand(client: bus.client, brand: "t")
            let one = ClusterDemand.member(argument: "trade:BTCUSDT@bybit.linear", nodeId: "n1")
            let two = ClusterDemand.member(argument: "trade:BTCUSDT@bybit.linear", nodeId: "n2")
            // Long TTLs where the entries must live: a loaded CI machine has let seconds pass between two awaits.
            _ = try await demand.renew([one], ttlMs: 60_000)
            let both = try await demand.renew([two], ttlMs: 60_000)
            #expect(Set(both) == [one, two])
            #expect(ClusterDemand.parse(two)! == ("trade:BTCUSDT@bybit.linear", "n2"))
            // n1's last renewal asks for 1 ms, then it stops renewing.
            _ = try await demand.renew([one], ttlMs: 1)
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await demand.renew([], ttlMs: 10_000) == [two], "n1 stopped renewing: expired")
            try await demand.remove(two)
            #expect(try await demand.renew([], ttlMs: 10_000).isEmpty)
        }
    }
}
