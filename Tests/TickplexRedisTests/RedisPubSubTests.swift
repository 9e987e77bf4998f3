import NIOCore
import Testing
import TickplexTestSupport

@testable import TickplexRedis

@Suite("Pub/sub on a dedicated subscriber connection")
struct RedisPubSubTests {
    @Test("100 channels: every message arrives once, on its own channel, in order")
    func hundredChannels() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let log = LockedList<RedisPubSubMessage>()
        let subscriber = RedisSubscriber(configuration: redisConfiguration(server), logger: quietLogger) { m in
            log.append(m)
        }
        let publisher = RedisClient(configuration: redisConfiguration(server), logger: quietLogger)
        let channels = (0..<100).map { "tickplex:test:ch\($0)" }
        let perChannel = 50
        let messages = try await withRunning([subscriber, publisher]) {
            try await subscriber.subscribe(channels)
            #expect(await subscriber.channels == Set(channels))
            // Interleave channels; publish in pipelined batches of 100.
            for round in 0..<perChannel {
                let replies = try await publisher.send(
                    channels.map { .publish($0, ByteBuffer(string: "\($0)|\(round)")) })
                #expect(replies.allSatisfy { $0 == .integer(1) }, "each PUBLISH reaches exactly one subscriber")
            }
            _ = await eventually { log.count >= channels.count * perChannel }
            try await Task.sleep(for: .milliseconds(100))
            return log.values
        }
        #expect(messages.count == channels.count * perChannel)
        var byChannel: [String: [Int]] = [:]
        for m in messages {
            let text = String(buffer: m.payload)
            let parts = text.split(separator: "|")
            #expect(parts.count == 2 && String(parts[0]) == m.channel, "payload \(text) arrived on \(m.channel)")
            byChannel[m.channel, default: []].append(Int(parts[1]) ?? -1)
        }
        #expect(byChannel.count == 100)
        for (channel, rounds) in byChannel {
            #expect(rounds == Array(0..<perChannel), "channel \(channel): complete, in order, no duplicate")
        }
    }

    @Test("messages are delivered in publish order on the event loop")
    func orderPreservedAtSource() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        // The callback runs on the connection's event loop, serially: collect synchronously in a locked array.
        let collected = LockedList<String>()
        let subscriber = RedisSubscriber(configuration: redisConfiguration(server), logger: quietLogger) { m in
            collected.append(String(buffer: m.payload))
        }
        let publisher = RedisClient(configuration: redisConfiguration(server), logger: quietLogger)
        let got = try await withRunning([subscriber, publisher]) {
            try await subscriber.subscribe(["ordered"])
            _ = try await publisher.send((0..<2000).map { .publish("ordered", ByteBuffer(string: "\($0)")) })
            _ = await eventually { collected.count == 2000 }
            return collected.values
        }
        #expect(got == (0..<2000).map { "\($0)" })
    }

    @Test("unsubscribed channels stop delivering, others continue")
    func unsubscribe() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let collected = LockedList<String>()
        let subscriber = RedisSubscriber(configuration: redisConfiguration(server), logger: quietLogger) { m in
            collected.append(m.channel)
        }
        let publisher = RedisClient(configuration: redisConfiguration(server), logger: quietLogger)
        let receivers = try await withRunning([subscriber, publisher]) {
            try await subscriber.subscribe(["a", "b"])
            try await subscriber.unsubscribe(["a"])
            let r = try await publisher.send([
                .publish("a", ByteBuffer(string: "x")), .publish("b", ByteBuffer(string: "y")),
            ])
            _ = await eventually { collected.count == 1 }
            try await Task.sleep(for: .milliseconds(100))
            return r
        }
        #expect(receivers == [.integer(0), .integer(1)])
        #expect(collected.values == ["b"])
    }
}
