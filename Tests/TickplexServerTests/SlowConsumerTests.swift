import Foundation
import Testing
import TickplexServer
import TickplexSimulator
import TickplexTestSupport

/// Timing-sensitive (it compares delivery latencies): Scripts/test runs this suite on its own.
@Suite("A client that stops reading", .serialized)
struct SlowConsumerTests {
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .infinity : sorted[sorted.count / 2]
    }

    static var nowMs: Double { Date().timeIntervalSince1970 * 1000 }

    @Test(
        "stalled clients: ticker conflated, trade closed with 4008; the others' latency stays within 2× and nothing is lost for them",
        arguments: BusMode.allCases)
    func stalledClients(bus: BusMode) async throws {
        var config = ExchangeSimulator.Configuration()
        config.framesPerSecond = 400
        let sim = try await ExchangeSimulator.start(config)
        try await withNode(
            bus: bus,
            [
                "BYBIT_WS_URL_LINEAR": sim.baseURL + "/v5/public/linear", "CLIENT_MAX_QUEUE_BYTES": "131072",
            ]
        ) { port, node in
            let trades = "tickplex.bybit.linear.trade.BTCUSDT"
            let ticker = "tickplex.bybit.linear.ticker.BTCUSDT"
            // The 200-level book the stalled clients will also take (their ballast) flows from the start, read by
            // one more client, so that both measurements carry the same streams: they differ only by the stall.
            let bookReader = WireClient(port: port)
            bookReader.send(#"{"op":"subscribe","args":["book:200:BTCUSDT"]}"#)
            let readers = (0..<5).map { _ in WireClient(port: port) }
            for r in readers { r.send(#"{"op":"subscribe","args":["trade:BTCUSDT","ticker:BTCUSDT"]}"#) }
            #expect(await eventually { readers.allSatisfy { $0.data(for: trades).count >= 100 } })

            // Without a stalled client.
            let baselineStart = Self.nowMs
            try await Task.sleep(for: .seconds(3))
            let baseline = readers.flatMap { $0.latencies(stream: trades, window: baselineStart...Self.nowMs) }

            // Two clients subscribe, then stop reading: one on the ticker, one on the trades. Both also take the
            // 200-level book (~12 KB a frame, conflated) so that the kernel's socket buffers fill in about a second.
            let tickerStall = try await RawWebSocketClient.connect(port: port)
            let tradeStall = try await RawWebSocketClient.connect(port: port)
            try await tickerStall.send(#"{"op":"subscribe","args":["ticker:BTCUSDT","book:200:BTCUSDT"]}"#)
            try await tradeStall.send(#"{"op":"subscribe","args":["trade:BTCUSDT","book:200:BTCUSDT"]}"#)
            #expect(
                await eventually {
                    [tickerStall, tradeStall].allSatisfy {
                        $0.received.texts.contains { $0.contains(#""op":"subscribe""#) }
                    }
                })
            try await tickerStall.setReading(false)
            try await tradeStall.setReading(false)
            let before = node.gatewayCounters

            #expect(
                await eventually(timeout: .seconds(30)) {
                    node.gatewayCounters.slowConsumerCloses > before.slowConsumerCloses
                },
                "the trade client overflows its queue")
            // The trade client reads again: the frames that were in flight, then close 4008 "slow consumer".
            try await tradeStall.setReading(true)
            #expect(await eventually(timeout: .seconds(10)) { tradeStall.received.closeCode == 4008 })
            // Measure the others for 3 s while the ticker client stays stalled (its socket full, its frames
            // conflated): the steady state of a client that stopped reading. (The second or so in which the kernel
            // first takes ~10 MB of book frames for the two stalled sockets is a transient, not measured.)
            let stalledStart = Self.nowMs
            try await Task.sleep(for: .seconds(3))
            let stalled = readers.flatMap { $0.latencies(stream: trades, window: stalledStart...Self.nowMs) }
            let after = node.gatewayCounters
            #expect(after.slowConsumerCloses == before.slowConsumerCloses + 1, "only the trade client is closed")
            #expect(after.conflated > before.conflated, "the stalled ticker client's frames are conflated")
            #expect(!tickerStall.isClosed)

            // Others' latency: within 2× of the run without the stall (timestamps are whole ms, so 2 ms of slack).
            let (m0, m1) = (Self.median(baseline), Self.median(stalled))
            #expect(baseline.count > 500 && stalled.count > 500, "\(baseline.count) / \(stalled.count) samples")
            #expect(m1 <= max(2 * m0, m0 + 2), "median latency \(m0) ms without the stall, \(m1) ms with it")

            // Nothing lost for the readers: every trade seq, in order.
            for r in readers {
                let seqs = r.data(for: trades).compactMap { ($0["seq"] as? NSNumber)?.intValue }
                #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "no gap for a reading client")
            }

            // The ticker client reads again: still subscribed, its ticker skipped ahead (conflated), and current.
            try await tickerStall.setReading(true)
            let readerLatest = readers[0].data(for: ticker).compactMap { ($0["seq"] as? NSNumber)?.intValue }.max() ?? 0
            #expect(
                await eventually(timeout: .seconds(10)) {
                    let seqs = tickerStall.received.texts.compactMap { text -> Int? in
                        guard let m = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                            m["stream"] as? String == ticker
                        else { return nil }
                        return (m["seq"] as? NSNumber)?.intValue
                    }
                    return (seqs.max() ?? 0) >= readerLatest
                })
            let tickerSeqs = tickerStall.received.texts.compactMap { text -> Int? in
                guard let m = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                    m["stream"] as? String == ticker
                else { return nil }
                return (m["seq"] as? NSNumber)?.intValue
            }
            #expect(zip(tickerSeqs, tickerSeqs.dropFirst()).allSatisfy { $1 > $0 }, "increasing")
            #expect(zip(tickerSeqs, tickerSeqs.dropFirst()).contains { $1 > $0 + 1 }, "skipped ahead: conflated")
            #expect(tickerStall.received.closeCode == nil && !tickerStall.isClosed)
            tickerStall.close()
            for r in readers { r.close() }
            bookReader.close()
        }
        await sim.stop()
    }
}
