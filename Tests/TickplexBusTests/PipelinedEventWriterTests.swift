import NIOCore
import Synchronization
import Testing
import TickplexBus
import TickplexRedis
import TickplexTestSupport

@Suite("Pipelined Redis event writer")
struct PipelinedEventWriterTests {
    @Test("2,000 events: every PUBLISH arrives in order, last values and history are written, nothing fails")
    func orderAndEffects() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        try await withRedisBus(server) { bus in
            let failures = Mutex(0)
            let writer = PipelinedRedisEventWriter(
                client: bus.client, lastValueTTL: .seconds(30), historyMax: 3, maxPending: 100,
                onFailure: { _ in failures.withLock { $0 += 1 } })
            try await bus.subscribe(["t.a", "t.b"])
            let n = 2_000
            async let received = collect(bus, count: n, timeout: .seconds(20))
            for i in 0..<n {
                let channel = i % 2 == 0 ? "t.a" : "t.b"
                try await writer.write(
                    OutgoingEvent(
                        channel: channel, payload: ByteBuffer(string: "\(i)"), lastValueKey: "last:\(channel)",
                        candle: i % 100 == 0 ? ("hist:\(channel)", Int64(i), ByteBuffer(string: "c\(i)")) : nil))
            }
            let messages = await received
            #expect(messages.count == n)
            #expect(messages.map { Int(String(buffer: $0.payload)) ?? -1 } == Array(0..<n), "in write order")
            #expect(writer.batches < n, "events were pipelined together (\(writer.batches) writes)")
            #expect(try await bus.client.send(.init("GET", "last:t.a")).string == "\(n - 2)")
            #expect(try await bus.client.send(.init("GET", "last:t.b")).string == "\(n - 1)")
            let history = try await RedisCandleHistory(client: bus.client, maxPerSeries: 3)
                .range(series: "hist:t.a", from: nil, to: nil, limit: 10).map { String(buffer: $0) }
            #expect(history == ["c1700", "c1800", "c1900"], "the newest 3 kept: \(history)")
            #expect(failures.withLock { $0 } == 0)
        }
    }

    @Test("Redis gone: writes fail fast and are reported, the writer never blocks; it writes again once Redis is back")
    func redisGone() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        try await withRedisBus(server) { bus in
            let failures = Mutex(0)
            let writer = PipelinedRedisEventWriter(
                client: bus.client, lastValueTTL: .seconds(30), historyMax: 3,
                onFailure: { _ in failures.withLock { $0 += 1 } })
            server.kill()
            let started = ContinuousClock.now
            for i in 0..<500 {
                try await writer.write(
                    OutgoingEvent(channel: "t", payload: ByteBuffer(string: "\(i)"), lastValueKey: "k"))
            }
            #expect(ContinuousClock.now - started < .seconds(5), "no hang while Redis is down")
            #expect(await eventually { failures.withLock { $0 } > 0 })
            try await server.launch()
            // Events written while the client has not yet noticed the restart are lost (and reported); once it
            // has reconnected, writes land again.
            #expect(
                await eventually(timeout: .seconds(20)) {
                    try? await writer.write(
                        OutgoingEvent(channel: "t", payload: ByteBuffer(string: "back"), lastValueKey: "k"))
                    return (try? await bus.client.send(.init("GET", "k")))?.string == "back"
                })
        }
    }
}
