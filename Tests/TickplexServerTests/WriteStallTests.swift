import Foundation
import Testing
import TickplexSimulator
import TickplexTestSupport

/// CLIENT_WRITE_STALL_S over real sockets against the real binary, fed by a fast simulator so that a client that
/// stops reading fills its socket buffers within a second or two.
@Suite("A socket that takes no bytes", .serialized)
struct WriteStallTests {
    static func fastSim() async throws -> ExchangeSimulator {
        var config = ExchangeSimulator.Configuration()
        config.framesPerSecond = 400
        return try await ExchangeSimulator.start(config)
    }

    static func counter(_ name: String, port: Int) async throws -> Int {
        try #require(jsonObject(try await httpGet(port: port, "/stats").body))[name] as? Int ?? -1
    }

    @Test("a client that stops reading is closed after CLIENT_WRITE_STALL_S, even on conflated streams only")
    func stalledClientClosed() async throws {
        let sim = try await Self.fastSim()
        var env = upstreamEnv(at: sim)
        env["CLIENT_WRITE_STALL_S"] = "3"
        try await TickplexProcess.serving(env) { port, _ in
            let reader = WireClient(port: port)
            reader.send(#"{"op":"subscribe","args":["ticker:BTCUSDT"]}"#)
            // Ticker and book only: conflated, never a 4008, so only the stall rule can close it.
            let stalled = try await RawWebSocketClient.connect(port: port)
            #expect(await stalled.handshake() == 101)
            try await stalled.send(#"{"op":"subscribe","args":["ticker:BTCUSDT","book:200:BTCUSDT"]}"#)
            #expect(await eventually { stalled.received.texts.contains { $0.contains(#""op":"subscribe""#) } })
            try await stalled.setReading(false)
            let paused = ContinuousClock.now
            #expect(
                try await eventually(timeout: .seconds(20)) {
                    try await Self.counter("writeStallCloses", port: port) == 1
                })
            let waited = ContinuousClock.now - paused
            #expect(waited >= .seconds(3), "not before the stall window: \(waited)")
            #expect(try await Self.counter("slowConsumerCloses", port: port) == 0)
            try await stalled.setReading(true)
            #expect(await eventually { stalled.isClosed })
            let seen = reader.data(for: "tickplex.bybit.linear.ticker.BTCUSDT").count
            #expect(await eventually { reader.data(for: "tickplex.bybit.linear.ticker.BTCUSDT").count > seen })
            reader.close()
        }
        await sim.stop()
    }

    @Test("a trade client that overflowed gets its 4008 when it reads again after a 12 s pause")
    func closeFrameAfterPause() async throws {
        let sim = try await Self.fastSim()
        var env = upstreamEnv(at: sim)
        env["CLIENT_MAX_QUEUE_BYTES"] = "131072"
        try await TickplexProcess.serving(env) { port, _ in
            let stalled = try await RawWebSocketClient.connect(port: port)
            #expect(await stalled.handshake() == 101)
            try await stalled.send(#"{"op":"subscribe","args":["trade:BTCUSDT","book:200:BTCUSDT"]}"#)
            #expect(await eventually { stalled.received.texts.contains { $0.contains(#""op":"subscribe""#) } })
            try await stalled.setReading(false)
            let paused = ContinuousClock.now
            #expect(
                try await eventually(timeout: .seconds(12)) {
                    try await Self.counter("slowConsumerCloses", port: port) == 1
                }, "the trade backlog overflows while the client does not read")
            try await Task.sleep(until: paused + .seconds(12))
            #expect(!stalled.isClosed, "not cut while within CLIENT_WRITE_STALL_S (30 s)")
            try await stalled.setReading(true)
            #expect(await eventually(timeout: .seconds(10)) { stalled.received.closeCode == 4008 })
            #expect(stalled.received.closeReason == "slow consumer")
            #expect(try await Self.counter("writeStallCloses", port: port) == 0)
        }
        await sim.stop()
    }
}
