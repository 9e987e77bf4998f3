import NIOCore
import Testing
import TickplexBus
import TickplexTestSupport

/// The same behaviour from both buses: only subscribed channels deliver, in publish order, once each.
@Suite("Message bus contract (in-process and Redis)")
struct MessageBusContractTests {
    static func exercise(_ bus: any MessageBus) async throws {
        try await bus.subscribe(["a", "b"])
        try await bus.publish("a", ByteBuffer(string: "a1"))
        try await bus.publish("x", ByteBuffer(string: "not subscribed"))
        try await bus.publish([
            BusMessage(channel: "b", payload: ByteBuffer(string: "b1")),
            BusMessage(channel: "a", payload: ByteBuffer(string: "a2")),
        ])
        let first = await collect(bus, count: 3)
        #expect(first.map { "\($0.channel):\(String(buffer: $0.payload))" } == ["a:a1", "b:b1", "a:a2"])

        try await bus.unsubscribe(["a"])
        try await bus.publish("a", ByteBuffer(string: "a3"))
        try await bus.publish("b", ByteBuffer(string: "b2"))
        let second = await collect(bus, count: 1)
        #expect(second.map { "\($0.channel):\(String(buffer: $0.payload))" } == ["b:b2"])
        // Nothing else is pending: an unsubscribed channel delivered nothing.
        try await bus.publish("b", ByteBuffer(string: "b3"))
        let third = await collect(bus, count: 1)
        #expect(third.map { String(buffer: $0.payload) } == ["b3"])
    }

    @Test("in-process bus")
    func inProcess() async throws {
        let bus = InProcessBus()
        #expect(bus.kind == "in-process")
        try await Self.exercise(bus)
    }

    @Test("Redis bus")
    func redis() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        try await withRedisBus(server) { bus in
            #expect(bus.kind == "redis")
            try await Self.exercise(bus)
        }
    }

    @Test("two Redis nodes each receive every message exactly once")
    func twoNodes() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        try await withRedisBus(server) { node1 in
            try await withRedisBus(server) { node2 in
                try await node1.subscribe(["s"])
                try await node2.subscribe(["s"])
                try await node1.publish(
                    (0..<100).map { BusMessage(channel: "s", payload: ByteBuffer(string: "\($0)")) })
                let got1 = await collect(node1, count: 100)
                let got2 = await collect(node2, count: 100)
                let expected = (0..<100).map { "\($0)" }
                #expect(got1.map { String(buffer: $0.payload) } == expected)
                #expect(got2.map { String(buffer: $0.payload) } == expected)
                // And no extra copy follows.
                try await node1.publish("s", ByteBuffer(string: "end"))
                #expect(await collect(node2, count: 1).map { String(buffer: $0.payload) } == ["end"])
            }
        }
    }
}
