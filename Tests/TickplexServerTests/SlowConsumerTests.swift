import Foundation
import HummingbirdWSClient
import Logging
import Synchronization
import Testing
import TickplexSimulator
import TickplexTestSupport

@Suite("A client that stops reading")
struct SlowConsumerTests {
    /// Draft for issue 4, not yet a valid test: with CLIENT_MAX_QUEUE_BYTES=1024 and 1,000 trade frames/s even the
    /// reading client overflows (two pending ~600-byte frames exceed the bound) and is rightly closed with 4008; and
    /// the stalled client's `connect` only returns when its handler does, so its close code is never seen here.
    /// Next: a larger bound with a faster stream, and observe the stalled client's close from the server side.
    @Test(
        "trade stream: the stalled client is closed with 4008 while a reading client keeps its data",
        .disabled("draft: the bound and the observation need rework (see the comment)"))
    func tradeOverflowCloses() async throws {
        var config = ExchangeSimulator.Configuration()
        config.framesPerSecond = 1000
        let sim = try await ExchangeSimulator.start(config)
        try await withNode([
            "BYBIT_WS_URL_LINEAR": sim.baseURL + "/v5/public/linear", "CLIENT_MAX_QUEUE_BYTES": "1024",
        ]) { port, _ in
            let reader = WireClient(port: port)
            reader.send(#"{"op":"subscribe","args":["trade:BTCUSDT"]}"#)
            // The stalled client subscribes, then never reads again: TCP fills up, its queue overflows.
            let box = WireClient.Box()
            var logger = Logger(label: "stalled")
            logger.logLevel = .critical
            let stalled = Task {
                let close = try await WebSocketClient.connect(
                    url: "ws://127.0.0.1:\(port)/ws", configuration: .init(), logger: logger
                ) { inbound, outbound, _ in
                    try await outbound.write(.text(#"{"op":"subscribe","args":["trade:BTCUSDT"]}"#))
                    try await Task.sleep(for: .seconds(60))
                    _ = inbound
                }
                if let code = close?.closeCode { box.closeCode.withLock { $0 = Int(UInt16(webSocketErrorCode: code)) } }
            }
            let stream = "tickplex.bybit.linear.trade.BTCUSDT"
            #expect(await eventually(timeout: .seconds(30)) { box.closeCode.withLock { $0 } != nil })
            #expect(box.closeCode.withLock { $0 } == 4008)
            let before = reader.data(for: stream).count
            #expect(
                await eventually { reader.data(for: stream).count > before + 10 }, "the reading client is unaffected")
            stalled.cancel()
            reader.close()
        }
        await sim.stop()
    }
}
