import Foundation
import Testing
import TickplexModel

@testable import TickplexProtocol

@Suite("Client contract: args missing, empty, not a list or holding a non-string → INVALID_ARGS")
struct ClientArgsContractTests {
    @Test(
        "each loose form is one INVALID_ARGS error with a message and the req_id, and subscribes nothing",
        arguments: [
            #"{"op":"subscribe","req_id":"x"}"#,
            #"{"op":"subscribe","args":[],"req_id":"x"}"#,
            #"{"op":"subscribe","args":"ticker:BTCUSDT","req_id":"x"}"#,
            #"{"op":"subscribe","args":{"a":1},"req_id":"x"}"#,
            #"{"op":"subscribe","args":["ticker:BTCUSDT",7],"req_id":"x"}"#,
            #"{"op":"subscribe","args":[null],"req_id":"x"}"#,
            #"{"op":"unsubscribe","args":[],"req_id":"x"}"#,
            #"{"op":"unsubscribe","args":[["ticker:BTCUSDT"]],"req_id":"x"}"#,
        ])
    func looseArgs(frame: String) throws {
        var s = ClientSession(limits: .init(), defaultVenue: .bybitLinear)
        let out = s.handle(text: frame, now: 0)
        #expect(out.actions.isEmpty)
        #expect(s.subscriptions.isEmpty)
        #expect(out.replies.count == 1)
        let reply = try #require(
            try JSONSerialization.jsonObject(with: Data(out.replies[0].utf8)) as? [String: Any])
        #expect(reply["op"] as? String == "error")
        #expect(reply["code"] as? String == "INVALID_ARGS")
        #expect(reply["req_id"] as? String == "x")
        #expect(((reply["message"] as? String) ?? "").contains("args"))
    }
}
