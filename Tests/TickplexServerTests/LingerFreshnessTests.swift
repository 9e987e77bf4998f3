import Foundation
import Testing
import TickplexServer
import TickplexSimulator
import TickplexTestSupport

/// The linger keeps a stream's exchange subscription for a while after its last client leaves; during it the stream
/// is still decoded, stored and published, so a quote or a returning client gets a fresh value.
@Suite("Linger: the last value stays fresh until the upstream unsubscribe")
struct LingerFreshnessTests {
    @Test("a quote 20 s after the last client left (linger 30 s) is fresh; a client coming back gets a fresh snapshot")
    func freshThroughLinger() async throws {
        try await withNode(["UPSTREAM": "sim", "UPSTREAM_LINGER_S": "30", "QUOTE_WAIT_MS": "3000"]) { port, node in
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["ticker:SOLUSDT"]}"#)
            let stream = "tickplex.bybit.linear.ticker.SOLUSDT"
            #expect(await eventually { c.data(for: stream).count >= 2 })
            c.close()
            #expect(await eventually { node.clientCount == 0 })
            try await Task.sleep(for: .seconds(20))
            let sim = try #require(node.simulator)
            #expect(await sim.openConnections().flatMap(\.subscribed).contains("tickers.SOLUSDT"), "still lingering")
            let (status, body) = try await httpGet(port: port, "/v1/quote/SOLUSDT")
            #expect(status == 200, "\(body)")
            let quote = try #require(jsonObject(body))
            let age = (quote["ageMs"] as? NSNumber)?.intValue ?? .max
            #expect(age < 3000, "fresh 20 s into the linger: \(age) ms old")
            // A client back within the linger: its snapshot is as fresh as the quote.
            let back = WireClient(port: port)
            back.send(#"{"op":"subscribe","args":["ticker:SOLUSDT"]}"#)
            #expect(await eventually { !back.data(for: stream).isEmpty })
            let snapshot = try #require(back.data(for: stream).first)
            let ts = (snapshot["recvTs"] as? NSNumber)?.int64Value ?? (snapshot["ts"] as? NSNumber)?.int64Value ?? 0
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            #expect(now - ts < 5000, "snapshot \(now - ts) ms old")
            back.close()
        }
    }
}
