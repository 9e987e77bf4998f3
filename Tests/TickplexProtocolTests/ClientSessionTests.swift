import Foundation
import Testing
import TickplexModel

@testable import TickplexProtocol

@Suite("Client protocol session (pure)")
struct ClientSessionTests {
    func session(maxSubs: Int = 100, rate: Int = 100) -> ClientSession {
        ClientSession(limits: .init(maxSubscriptions: maxSubs, maxMessagesPerSecond: rate), defaultVenue: .bybitLinear)
    }

    func json(_ s: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
    }

    @Test("subscribe: accepted and rejected args, reasons, req_id echoed, actions")
    func subscribe() throws {
        var s = session()
        let out = s.handle(
            text: #"{"op":"subscribe","args":["ticker:BTCUSDT","kline:1h:ETHUSDT","tickers.*"],"req_id":"r1"}"#, now: 0)
        #expect(out.actions == [.subscribe(.ticker("BTCUSDT")), .subscribe(.kline(.h1, "ETHUSDT"))])
        let reply = try json(out.replies[0])
        #expect(
            reply["op"] as? String == "subscribe" && reply["success"] as? Bool == true
                && reply["req_id"] as? String == "r1")
        #expect(reply["args"] as? [String] == ["ticker:BTCUSDT", "kline:1h:ETHUSDT"])
        let rejected = try #require(reply["rejected"] as? [[String: String]])
        #expect(rejected.count == 1 && rejected[0]["arg"] == "tickers.*")
        #expect(rejected[0]["reason"]?.contains("wildcards are not supported") == true)
        // All accepted: "rejected":null, literally.
        #expect(
            s.handle(text: #"{"op":"subscribe","args":["trade:BTCUSDT"]}"#, now: 0).replies[0].contains(
                #""rejected":null"#))
        // Nothing accepted: success false.
        #expect(
            try json(s.handle(text: #"{"op":"subscribe","args":["x:y"]}"#, now: 0).replies[0])["success"] as? Bool
                == false)
    }

    @Test("aliases resolve to the same stream: no second upstream subscription; unsubscribe by either form")
    func aliases() {
        var s = session()
        #expect(
            s.handle(text: #"{"op":"subscribe","args":["tickers.BTCUSDT"]}"#, now: 0).actions == [
                .subscribe(.ticker("BTCUSDT"))
            ])
        #expect(s.handle(text: #"{"op":"subscribe","args":["ticker:BTCUSDT"]}"#, now: 0).actions == [])
        let out = s.handle(text: #"{"op":"unsubscribe","args":["ticker:BTCUSDT"],"req_id":7}"#, now: 0)
        #expect(out.actions == [.unsubscribe(.ticker("BTCUSDT"))])
        #expect(out.replies == [#"{"op":"unsubscribe","success":true,"args":["ticker:BTCUSDT"],"req_id":7}"#])
    }

    @Test("ping, list, errors for bad JSON, binary, unknown op, bad args")
    func opsAndErrors() throws {
        var s = session()
        #expect(s.handle(text: #"{"op":"ping"}"#, now: 1234).replies == [#"{"op":"pong","timestamp":1234}"#])
        _ = s.handle(text: #"{"op":"subscribe","args":["kline:60:BTCUSDT"]}"#, now: 0)
        #expect(
            s.handle(text: #"{"op":"list","req_id":"l"}"#, now: 0).replies == [
                #"{"op":"list","args":["kline:60:BTCUSDT"],"req_id":"l"}"#
            ])
        #expect(try json(s.handle(text: "{nope", now: 0).replies[0])["code"] as? String == "INVALID_JSON")
        #expect(try json(s.handleBinary(now: 0).replies[0])["code"] as? String == "INVALID_JSON")
        #expect(try json(s.handle(text: #"{"op":"dance"}"#, now: 0).replies[0])["code"] as? String == "UNKNOWN_OP")
        #expect(
            try json(s.handle(text: #"{"op":"subscribe","args":"ticker:BTCUSDT"}"#, now: 0).replies[0])["code"]
                as? String == "INVALID_ARGS")
        #expect(try json(s.handle(text: #"[1,2]"#, now: 0).replies[0])["code"] as? String == "INVALID_JSON")
    }

    @Test("10,000 args in one request: LIMIT_EXCEEDED, nothing subscribed")
    func tenThousandArgs() throws {
        var s = session()
        let args = (0..<10_000).map { "\"ticker:S\($0)USDT\"" }.joined(separator: ",")
        let out = s.handle(text: #"{"op":"subscribe","args":[\#(args)]}"#, now: 0)
        #expect(out.actions.isEmpty && s.subscriptions.isEmpty)
        let reply = try json(out.replies[0])
        #expect(reply["code"] as? String == "LIMIT_EXCEEDED")
        #expect((reply["message"] as? String)?.contains("10000 args in one request; at most 100") == true)
    }

    @Test("the subscription limit rejects the excess with a reason")
    func subscriptionLimit() throws {
        var s = session(maxSubs: 2)
        let out = s.handle(text: #"{"op":"subscribe","args":["ticker:A","ticker:B"]}"#, now: 0)
        #expect(out.actions.count == 2)
        let more = try json(s.handle(text: #"{"op":"subscribe","args":["ticker:C"]}"#, now: 0).replies[0])
        #expect(
            (more["rejected"] as? [[String: String]])?.first?["reason"]?.contains(
                "subscription limit reached (2 per connection)") == true)
    }

    @Test("rate limit: RATE_LIMIT_EXCEEDED past the rate, close 1008 on sustained abuse, refills with time")
    func rateLimit() throws {
        var s = session(rate: 5)
        for _ in 0..<5 { #expect(s.handle(text: #"{"op":"ping"}"#, now: 0).replies[0].contains("pong")) }
        #expect(
            try json(s.handle(text: #"{"op":"ping"}"#, now: 0).replies[0])["code"] as? String == "RATE_LIMIT_EXCEEDED")
        // A second later the bucket is full again.
        #expect(s.handle(text: #"{"op":"ping"}"#, now: 1000).replies[0].contains("pong"))
        var closed = false
        for _ in 0..<20 where !closed {
            closed =
                s.handle(text: #"{"op":"ping"}"#, now: 1000).actions == [
                    .close(code: 1008, reason: "rate limit exceeded")
                ]
        }
        #expect(closed)
    }

    @Test("an exchange refusal removes the subscription and tells the client in the exchange's words")
    func subscriptionError() {
        var s = session()
        _ = s.handle(text: #"{"op":"subscribe","args":["trade:NOTASYMBOL"]}"#, now: 0)
        let out = s.subscriptionError(
            .trade("NOTASYMBOL"), reason: "error:handler not found,topic:publicTrade.NOTASYMBOL")
        #expect(
            out.replies == [
                #"{"op":"subscription_error","arg":"trade:NOTASYMBOL","reason":"error:handler not found,topic:publicTrade.NOTASYMBOL"}"#
            ])
        #expect(out.actions == [.unsubscribe(.trade("NOTASYMBOL"))])
        #expect(s.subscriptions.isEmpty)
    }
}
