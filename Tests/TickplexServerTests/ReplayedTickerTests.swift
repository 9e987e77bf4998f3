import Foundation
import Testing
import TickplexSimulator
import TickplexTestSupport

@Suite("The merged ticker a client receives equals the merge of the recorded frames")
struct ReplayedTickerTests {
    @Test(
        "tickers_linear.jsonl replayed by the simulator: every message matches an independent merge",
        arguments: BusMode.allCases)
    func replayedMerge(bus: BusMode) async throws {
        let samples = ExchangeFixtures.root
        let file = samples.appendingPathComponent("bybit/tickers_linear.jsonl").path
        var config = ExchangeSimulator.Configuration()
        try config.loadReplay(contentsOf: file)
        config.framesPerSecond = 40
        let sim = try await ExchangeSimulator.start(config)
        // The recorded BTCUSDT frames in order, and the straightforward merge after each one.
        let frames = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["topic"] as? String == "tickers.BTCUSDT" }
        var merged: [[String: String]] = []
        var state: [String: String] = [:]
        for frame in frames {
            // Every ticker data field is a string on the wire.
            let data = (frame["data"] as! [String: Any]).compactMapValues { $0 as? String }
            if frame["type"] as? String == "snapshot" { state = data } else { state.merge(data) { _, new in new } }
            merged.append(state)
        }
        let states = merged
        try await withNode(bus: bus, ["BYBIT_WS_URL_LINEAR": sim.baseURL + "/v5/public/linear"]) { port, _ in
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["ticker:BTCUSDT"]}"#)
            let stream = "tickplex.bybit.linear.ticker.BTCUSDT"
            #expect(await eventually(timeout: .seconds(20)) { c.data(for: stream).count >= 60 })
            var checked = 0
            for message in c.data(for: stream) {
                guard let seq = (message["seq"] as? NSNumber)?.intValue, let data = message["data"] as? [String: Any]
                else { continue }
                // One recorded frame → one message: seq n is frame n-1 of the (looping) replay.
                let expected = states[(seq - 1) % states.count]
                func s(_ k: String) -> String? { expected[k] }
                #expect(data["price"] as? String == s("lastPrice"), "seq \(seq)")
                #expect(data["markPrice"] as? String == s("markPrice"), "seq \(seq)")
                #expect(data["indexPrice"] as? String == s("indexPrice"), "seq \(seq)")
                #expect(data["volume24h"] as? String == s("volume24h"), "seq \(seq)")
                #expect(data["openInterest"] as? String == s("openInterest"), "seq \(seq)")
                #expect(data["fundingRate"] as? String == s("fundingRate"), "seq \(seq)")
                let bid = data["bid"] as? [String: String]
                let ask = data["ask"] as? [String: String]
                #expect(bid?["price"] == s("bid1Price") && bid?["size"] == s("bid1Size"), "seq \(seq)")
                #expect(ask?["price"] == s("ask1Price") && ask?["size"] == s("ask1Size"), "seq \(seq)")
                checked += 1
            }
            #expect(checked >= 60)
            c.close()
        }
        await sim.stop()
    }
}
