import Hummingbird
import HummingbirdCore
import Testing

@testable import TickplexServer

@Suite("Request head as the gate reads it (pure)")
struct RequestHeadTests {
    func head(_ lines: [String], lf: Bool = false) -> RequestHead? {
        let text = lines.joined(separator: lf ? "\n" : "\r\n") + (lf ? "\n\n" : "\r\n\r\n")
        #expect(RequestHead.end(in: Array(text.utf8)) == text.utf8.count)
        return RequestHead(Substring(text))
    }

    @Test(
        "every Upgrade form NIO's upgrader accepts is a WebSocket upgrade",
        arguments: [
            ["Upgrade: websocket"], ["Upgrade: WebSocket"], ["upgrade:websocket"], ["UPGRADE:   websocket  "],
            ["Upgrade: h2c, websocket"], ["Upgrade: h2c,websocket,foo"], ["Upgrade: h2c", "Upgrade: websocket"],
            ["Upgrade: h2c,", " websocket"],
        ])
    func upgradeForms(fields: [String]) throws {
        let h = try #require(head(["GET /ws HTTP/1.1", "Host: x"] + fields + ["Connection: Upgrade"]))
        #expect(h.isWebSocketUpgrade)
        let lf = try #require(head(["GET /ws HTTP/1.1", "Host: x"] + fields, lf: true))
        #expect(lf.isWebSocketUpgrade, "bare LF line ends")
    }

    @Test("not upgrades: h2c alone, no Upgrade, websocket only in another field")
    func notUpgrades() throws {
        for fields in [["Upgrade: h2c"], [], ["X-Upgrade: websocket"], ["Connection: websocket"]] {
            let h = try #require(head(["GET /ws HTTP/1.1", "Host: x"] + fields))
            #expect(!h.isWebSocketUpgrade, "\(fields)")
        }
    }

    @Test("credential from Authorization: Bearer, else ?token= (decoded); query parameters; path")
    func credentials() throws {
        let bearer = try #require(head(["GET /ws?token=other HTTP/1.1", "Authorization: Bearer  k-1 "]))
        #expect(bearer.credential == "k-1")
        // Percent-decoded as Hummingbird decodes the REST routes' query (where `+` stays `+`).
        let query = try #require(head(["GET /ws?a=1&token=k%2B2%20x HTTP/1.1", "Authorization: Basic abc"]))
        #expect(query.credential == "k+2 x")
        #expect(
            query.uri.path == "/ws" && query.uri.queryParameters.get("a") == "1"
                && query.uri.queryParameters.get("b") == nil)
        let none = try #require(head(["GET /ws HTTP/1.1"]))
        #expect(none.credential == nil)
    }

    @Test("heads that are not HTTP/1 request heads are nil; an incomplete head has no end")
    func malformed() {
        #expect(RequestHead(Substring("GET /ws\r\n\r\n")) == nil)
        #expect(RequestHead(Substring("hello world HTTP/2\r\n\r\n")) == nil)
        #expect(RequestHead(Substring("GET / HTTP/1.1\r\nno colon here\r\n\r\n")) == nil)
        #expect(RequestHead(Substring("GET / HTTP/1.1\r\n: empty name\r\n\r\n")) == nil)
        #expect(RequestHead.end(in: Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8)) == nil)
    }
}
