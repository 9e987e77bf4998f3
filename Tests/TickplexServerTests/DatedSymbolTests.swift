import Foundation
import Testing
import TickplexSimulator
import TickplexTestSupport

/// Real symbols with `-` and `_`: Bybit dated futures (`BTC-26DEC25`) and Binance quarterlies (`BTCUSDT_250627`)
/// are subscribed, carried upstream under the venue's own topic names and delivered.
@Suite("Dated futures and delivery contracts end to end (UPSTREAM=sim)")
struct DatedSymbolTests {
    @Test("trade:BTC-26DEC25@bybit.linear and ticker:btcusdt_250627@binance.usdm flow; quotes answer")
    func datedSymbols() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            let c = WireClient(port: port)
            c.send(
                #"{"op":"subscribe","args":["trade:BTC-26DEC25@bybit.linear","ticker:btcusdt_250627@binance.usdm"]}"#)
            let bybit = "tickplex.bybit.linear.trade.BTC-26DEC25"
            let binance = "tickplex.binance.usdm.ticker.BTCUSDT_250627"
            #expect(await eventually { c.data(for: bybit).count >= 2 && !c.data(for: binance).isEmpty })
            #expect(c.replies("subscribe").first?["success"] as? Bool == true)
            let subscribed = await node.simulator!.openConnections().flatMap(\.subscribed)
            #expect(subscribed.contains("publicTrade.BTC-26DEC25"))
            #expect(subscribed.contains { $0.hasPrefix("btcusdt_250627@") })
            let (status, body) = try await httpGet(port: port, "/v1/quote/BTC-26DEC25?venue=bybit.linear")
            #expect(status == 200, "\(body)")
            #expect(jsonObject(body)?["symbol"] as? String == "BTC-26DEC25", "\(body)")
            c.close()
        }
    }
}
