import Foundation
import Synchronization
import Testing
import TickplexTestSupport

@Suite("Gateway: bad client input over real WebSockets gets its error; everyone else keeps being served")
struct GatewayBadInputTests {
    @Test(
        "bad JSON, binary garbage, unknown op, bad args, 10,000 args, aliases: each answered, bystander unaffected",
        arguments: BusMode.allCases)
    func badInput(bus: BusMode) async throws {
        // A frame limit large enough for a 10,000-arg request, so that it reaches the protocol's own limit.
        try await withNode(bus: bus, ["UPSTREAM": "sim", "MAX_CLIENT_FRAME_BYTES": "1048576"]) { port, _ in
            let bystander = WireClient(port: port)
            bystander.send(#"{"op":"subscribe","args":["trade:BTCUSDT"]}"#)
            let trades = "tickplex.bybit.linear.trade.BTCUSDT"
            #expect(await eventually { bystander.data(for: trades).count >= 2 })

            let c = WireClient(port: port)
            c.send("{not json")
            c.sendBinary([0xFF, 0x00, 0x13, 0x37, 0xC3])
            c.send(#"{"op":"dance","req_id":"u"}"#)
            c.send(#"{"op":"subscribe","args":"ticker:BTCUSDT","req_id":"s"}"#)
            let many = (0..<10_000).map { "\"ticker:S\($0)USDT\"" }.joined(separator: ",")
            c.send(#"{"op":"subscribe","req_id":"big","args":["# + many + "]}")
            #expect(await eventually { c.replies("error").count >= 5 })
            let errors = c.replies("error")
            #expect(
                errors.compactMap { $0["code"] as? String } == [
                    "INVALID_JSON", "INVALID_JSON", "UNKNOWN_OP", "INVALID_ARGS", "LIMIT_EXCEEDED",
                ])
            #expect(errors[2]["req_id"] as? String == "u" && errors[4]["req_id"] as? String == "big")
            #expect(errors.allSatisfy { ($0["message"] as? String)?.isEmpty == false }, "every error says why")

            // Aliases and rejection reasons, answered on the same connection that just misbehaved.
            c.send(
                #"{"op":"subscribe","req_id":"a","args":["tickers.ETHUSDT","kline:60:ETHUSDT","ticker:","book:0:BTCUSDT","candle:BTCUSDT","ticker:BTCUSDT@ftx"]}"#
            )
            #expect(await eventually { c.replies("subscribe").contains { $0["req_id"] as? String == "a" } })
            let reply = try #require(c.replies("subscribe").first { $0["req_id"] as? String == "a" })
            // Accepted args are echoed as the client wrote them; the data arrives under the canonical streams.
            #expect(reply["args"] as? [String] == ["tickers.ETHUSDT", "kline:60:ETHUSDT"])
            let rejected = (reply["rejected"] as? [[String: String]]) ?? []
            #expect(
                rejected.map { $0["arg"] ?? "" } == [
                    "ticker:", "book:0:BTCUSDT", "candle:BTCUSDT", "ticker:BTCUSDT@ftx",
                ])
            #expect(rejected.allSatisfy { ($0["reason"]?.count ?? 0) > 20 }, "reasons a person can act on: \(rejected)")
            #expect(
                await eventually {
                    !c.data(for: "tickplex.bybit.linear.ticker.ETHUSDT").isEmpty
                        && !c.data(for: "tickplex.bybit.linear.kline.1h.ETHUSDT").isEmpty
                })
            #expect(c.box.closeCode.withLock { $0 } == nil, "errors do not close the connection")

            let before = bystander.data(for: trades).count
            #expect(await eventually { bystander.data(for: trades).count > before + 2 }, "the bystander keeps its data")
            c.close()
            bystander.close()
        }
    }
}
