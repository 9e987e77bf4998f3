import Testing

@testable import TickplexSimulator

/// The simulator's control frames must match the recorded shapes byte for byte (conn_id aside).
@Suite("Simulated Bybit control protocol")
struct BybitSimSessionTests {
    let symbols: Set<String> = ["BTCUSDT", "ETHUSDT"]

    @Test("spot: ack without req_id when none was sent, ret_msg subscribe")
    func spotAck() {
        var s = BybitSimSession(category: .spot, connectionId: "c1", symbols: symbols)
        let out = s.handle(#"{"op":"subscribe","args":["tickers.BTCUSDT"]}"#)
        #expect(out.replies == [#"{"success":true,"ret_msg":"subscribe","conn_id":"c1","op":"subscribe"}"#])
        #expect(out.newTopics == ["tickers.BTCUSDT"])
        let withId = s.handle(#"{"req_id":"10001","op":"subscribe","args":["publicTrade.BTCUSDT"]}"#)
        #expect(
            withId.replies == [
                #"{"success":true,"ret_msg":"subscribe","conn_id":"c1","req_id":"10001","op":"subscribe"}"#
            ])
    }

    @Test("linear: ret_msg empty and req_id always present")
    func linearAck() {
        var s = BybitSimSession(category: .linear, connectionId: "c2", symbols: symbols)
        #expect(
            s.handle(#"{"op":"subscribe","args":["tickers.BTCUSDT"]}"#).replies == [
                #"{"success":true,"ret_msg":"","conn_id":"c2","req_id":"","op":"subscribe"}"#
            ])
    }

    @Test("spot refuses an 11-arg request with the escaped recorded message")
    func elevenArgs() {
        var s = BybitSimSession(category: .spot, connectionId: "0a555e6f-199c-49bb-9bb8-6f8adcd8b057", symbols: symbols)
        let args = (0..<11).map { "\"kline.\($0 + 1).BTCUSDT\"" }.joined(separator: ",")
        let out = s.handle(#"{"op":"subscribe","args":[\#(args)]}"#)
        // Byte-exact against samples/bybit/control_errors_from_issues.jsonl.
        #expect(
            out.replies == [
                #"{"success":false,"ret_msg":"args size \u003e10","conn_id":"0a555e6f-199c-49bb-9bb8-6f8adcd8b057","op":"subscribe"}"#
            ])
        #expect(out.newTopics.isEmpty && s.subscribed.isEmpty)
    }

    @Test("unknown symbol: handler not found naming the topic; the valid args of the request still subscribe")
    func unknownSymbol() {
        var s = BybitSimSession(category: .linear, connectionId: "c", symbols: symbols)
        let out = s.handle(#"{"op":"subscribe","args":["publicTrade.NOTASYMBOL","publicTrade.BTCUSDT"]}"#)
        #expect(
            out.replies == [
                #"{"success":false,"ret_msg":"error:handler not found,topic:publicTrade.NOTASYMBOL","conn_id":"c","req_id":"","op":"subscribe"}"#
            ])
        #expect(out.newTopics == ["publicTrade.BTCUSDT"])
    }

    @Test("pongs per category, counted")
    func pongs() {
        var spot = BybitSimSession(category: .spot, connectionId: "c", symbols: symbols)
        var linear = BybitSimSession(category: .linear, connectionId: "c", symbols: symbols)
        #expect(
            spot.handle(#"{"op":"ping"}"#).replies == [#"{"success":true,"ret_msg":"pong","conn_id":"c","op":"ping"}"#])
        #expect(
            linear.handle(#"{"req_id":"yQ","op":"ping"}"#).replies == [
                #"{"success":true,"ret_msg":"pong","conn_id":"c","req_id":"yQ","op":"ping"}"#
            ])
        #expect(spot.pingsReceived == 1 && linear.pingsReceived == 1)
    }

    @Test("unsubscribe removes; malformed frames get an error ack, never a crash")
    func unsubscribeAndGarbage() {
        var s = BybitSimSession(category: .linear, connectionId: "c", symbols: symbols)
        _ = s.handle(#"{"op":"subscribe","args":["tickers.BTCUSDT","tickers.ETHUSDT"]}"#)
        let out = s.handle(#"{"op":"unsubscribe","args":["tickers.BTCUSDT"]}"#)
        #expect(out.removedTopics == ["tickers.BTCUSDT"] && s.subscribed == ["tickers.ETHUSDT"])
        #expect(s.handle("{nope").replies.first?.contains(#""success":false"#) == true)
        #expect(s.handle(#"{"op":"subscribe","args":[]}"#).replies.first?.contains(#""success":false"#) == true)
    }
}
