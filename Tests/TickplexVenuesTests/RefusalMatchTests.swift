import Testing
import TickplexVenues

/// A refusal names its topic; only that exact topic is refused. The prefix case (`tickers.BTCUSDTT` refused in the
/// same request as `tickers.BTCUSDT`) used to take both down.
@Suite("Refusals are matched to the exact topic they name")
struct RefusalMatchTests {
    @Test("Bybit `topic:X`: a refused topic that extends another one's name refuses only itself")
    func bybitPrefix() {
        var q = AckQueue()
        q.sent(.init(id: "7", op: "subscribe", topics: ["tickers.BTCUSDT", "tickers.BTCUSDTT"]))
        let outcome = q.received(
            requestId: "7", success: false, message: "error:handler not found,topic:tickers.BTCUSDTT")
        #expect(
            outcome
                == .failed(
                    .init(id: "7", op: "subscribe", topics: ["tickers.BTCUSDT", "tickers.BTCUSDTT"]),
                    rejected: ["tickers.BTCUSDTT"], retry: ["tickers.BTCUSDT"],
                    message: "error:handler not found,topic:tickers.BTCUSDTT"))
    }

    @Test("the shorter name refused alone does not take the longer one")
    func bybitShorter() {
        var q = AckQueue()
        q.sent(.init(id: "8", op: "subscribe", topics: ["publicTrade.BTCUSDTT", "publicTrade.BTC"]))
        guard
            case .failed(_, let rejected, let retry, _) = q.received(
                requestId: "8", success: false, message: "error:handler not found,topic:publicTrade.BTC")
        else {
            Issue.record("expected a failure")
            return
        }
        #expect(rejected == ["publicTrade.BTC"])
        #expect(retry == ["publicTrade.BTCUSDTT"])
    }

    @Test("a bracketed list `[X, Y]` names each item whole")
    func bracketList() {
        #expect(AckQueue.topicsNamed(in: "Invalid symbol :[tickers.NOPEUSDT]") == ["tickers.NOPEUSDT"])
        #expect(
            AckQueue.topicsNamed(in: "Invalid symbol :[tickers.A, tickers.BB]") == ["tickers.A", "tickers.BB"])
        #expect(
            AckQueue.topicsNamed(in: "error:handler not found,topic:kline.1.X,topic:kline.5.X")
                == ["kline.1.X", "kline.5.X"])
        #expect(AckQueue.topicsNamed(in: "no topic here").isEmpty)
    }
}
