import Foundation
import Testing
import TickplexModel

@testable import TickplexVenues

@Suite("Linear ticker merge over the whole recording")
struct TickerMergeTests {
    @Test("after every recorded frame the merged ticker equals an independent dictionary merge")
    func everyStep() throws {
        var adapter = BybitAdapter(category: .linear)
        // The independent merge: Foundation's parser, plain dictionaries, snapshot replaces, delta overlays.
        var states: [String: [String: Any]] = [:]
        var steps = 0
        var deltas = 0
        for line in try Samples.lines("bybit/tickers_linear.jsonl") {
            let frame = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let topic = try #require(frame["topic"] as? String)
            let data = try #require(frame["data"] as? [String: Any])
            if frame["type"] as? String == "snapshot" {
                states[topic] = data
            } else {
                deltas += 1
                for (k, v) in data { states[topic]![k] = v }
            }
            let s = states[topic]!
            func str(_ k: String) -> String? { s[k] as? String }

            let messages = try adapter.decode(line, receivedAt: 0)
            guard case .event(let event) = try #require(messages.first), case .ticker(let t) = event.payload else {
                Issue.record("no ticker for \(line)")
                continue
            }
            #expect(event.exchangeTime == (frame["ts"] as? NSNumber)?.int64Value)
            #expect(t.symbol == str("symbol"))
            #expect(t.price == str("lastPrice"))
            #expect(t.markPrice == str("markPrice"))
            #expect(t.indexPrice == str("indexPrice"))
            #expect(t.high24h == str("highPrice24h"))
            #expect(t.low24h == str("lowPrice24h"))
            #expect(t.volume24h == str("volume24h"))
            #expect(t.turnover24h == str("turnover24h"))
            #expect(t.fundingRate == str("fundingRate"))
            #expect(t.openInterest == str("openInterest"))
            #expect(t.nextFundingTime == str("nextFundingTime").flatMap { Int64($0) })
            #expect(t.bid?.price == str("bid1Price") && t.bid?.size == str("bid1Size"))
            #expect(t.ask?.price == str("ask1Price") && t.ask?.size == str("ask1Size"))
            // price24hPcnt is a ratio; the percent must be the same number: check through Decimal.
            if let ratio = str("price24hPcnt"), let percent = t.change24hPercent {
                #expect(Decimal(string: percent) == Decimal(string: ratio)! * 100, "\(ratio) → \(percent)")
            } else {
                #expect(t.change24hPercent == nil && str("price24hPcnt") == nil)
            }
            steps += 1
        }
        #expect(steps == 758)
        #expect(deltas == 754)
    }
}
