import NIOCore
import Testing
import TickplexBus
import TickplexTestSupport

@Suite("Candle history: ordered by start, replace on the same start, trimmed, ranges")
struct CandleHistoryTests {
    static func candle(_ start: Int64, _ close: String = "1") -> ByteBuffer {
        ByteBuffer(string: #"{"start":\#(start),"close":"\#(close)"}"#)
    }

    static func exercise(_ history: any CandleHistory) async throws {
        let s = "tickplex:klines:test"
        // Out of order, one start sent twice (the second replaces the first), max 4 per series.
        for start in [300, 100, 200, 500, 400] as [Int64] {
            try await history.add(series: s, start: start, candle: candle(start))
        }
        try await history.add(series: s, start: 400, candle: candle(400, "2"))
        func starts(_ from: Int64?, _ to: Int64?, _ limit: Int) async throws -> [String] {
            try await history.range(series: s, from: from, to: to, limit: limit).map { String(buffer: $0) }
        }
        // 100 was the oldest of five: trimmed.
        #expect(
            try await starts(nil, nil, 10)
                == [200, 300, 400, 500].map { String(buffer: candle($0, $0 == 400 ? "2" : "1")) })
        #expect(try await starts(250, 450, 10).count == 2, "from/to inclusive bounds")
        #expect(try await starts(300, 400, 10).count == 2, "both bounds inclusive")
        #expect(
            try await starts(200, nil, 2) == [candle(200), candle(300)].map { String(buffer: $0) }, "from: the earliest"
        )
        #expect(
            try await starts(nil, nil, 2) == [candle(400, "2"), candle(500)].map { String(buffer: $0) },
            "no from: the latest")
        #expect(try await starts(nil, 300, 1) == [String(buffer: candle(300))])
        #expect(try await history.range(series: "tickplex:klines:other", from: nil, to: nil, limit: 5).isEmpty)
    }

    @Test("in memory")
    func inMemory() async throws {
        try await Self.exercise(InMemoryCandleHistory(maxPerSeries: 4))
    }

    @Test("Redis sorted sets, kept across clients (a restart)")
    func redis() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        try await withRedisBus(server) { bus in
            try await Self.exercise(RedisCandleHistory(client: bus.client, maxPerSeries: 4))
        }
        // A new client (as after a Tickplex restart) reads the same history.
        try await withRedisBus(server) { bus in
            let again = try await RedisCandleHistory(client: bus.client, maxPerSeries: 4)
                .range(series: "tickplex:klines:test", from: nil, to: nil, limit: 10)
            #expect(again.count == 4)
        }
    }
}
