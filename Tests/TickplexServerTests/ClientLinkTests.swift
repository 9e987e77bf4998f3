import NIOCore
import Testing

@testable import TickplexServer

/// The client connection's control state, directly: pings, pongs and the close handshake.
@Suite("Client link: pings and the close handshake")
struct ClientLinkTests {
    static func payload(_ value: UInt64) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(value)
        return buffer
    }

    static func close(_ code: UInt16?, _ reason: [UInt8] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        if let code { buffer.writeInteger(code) }
        buffer.writeBytes(reason)
        return buffer
    }

    @Test("a ping answered by its own pong keeps the link; unanswered by the next ping time, it times out")
    func pings() {
        var link = ClientLink(seed: 42)
        guard case .send(let first) = link.pingDue() else {
            Issue.record("first ping not sent")
            return
        }
        link.receivedPong(Self.payload(first &+ 1))
        #expect(link.unansweredPing == first, "a pong with another payload proves nothing")
        link.receivedPong(ByteBuffer(bytes: [1, 2, 3]))
        #expect(link.unansweredPing == first)
        link.receivedPong(Self.payload(first))
        #expect(link.unansweredPing == nil)
        guard case .send(let second) = link.pingDue() else {
            Issue.record("second ping not sent")
            return
        }
        #expect(second != first, "each ping has its own payload")
        #expect(link.pingDue() == .timedOut, "the second ping was never answered")
    }

    @Test("two links started with different seeds ping with different payloads")
    func seeds() {
        var a = ClientLink(seed: 1)
        var b = ClientLink(seed: 2)
        #expect(a.pingDue() != b.pingDue())
    }

    @Test("the server closes first: one close frame, then the client's answer finishes it; no pings after")
    func serverCloses() {
        var link = ClientLink(seed: 7)
        let first = link.close()
        let second = link.close()
        #expect(first)
        #expect(!second, "a second close sends nothing")
        #expect(link.phase == .closing)
        #expect(link.pingDue() == .stop)
        #expect(link.receivedClose(Self.close(1000)) == .finish)
        #expect(link.phase == .closed)
        #expect(link.receivedClose(Self.close(1000)) == .ignore)
    }

    @Test(
        "the client closes first: answered 1000 for an empty payload or a valid code, 1002 otherwise",
        arguments: [
            (nil, [], 1000), (1000, [], 1000), (1001, Array("bye".utf8), 1000), (4008, [], 1000),
            (3000, [], 1000), (1005, [], 1002), (1006, [], 1002), (999, [], 1002), (5000, [], 1002),
            (1000, [0xFF, 0xFE], 1002),
        ] as [(UInt16?, [UInt8], UInt16)])
    func clientCloses(code: UInt16?, reason: [UInt8], reply: UInt16) {
        var link = ClientLink(seed: 3)
        #expect(link.receivedClose(Self.close(code, reason)) == .reply(code: reply))
        #expect(link.phase == .closed)
        let sent = link.close()
        #expect(!sent, "closed: nothing more is sent")
    }

    @Test("a one-byte close payload is a protocol error")
    func oneByte() {
        var link = ClientLink(seed: 3)
        #expect(link.receivedClose(ByteBuffer(bytes: [3])) == .reply(code: 1002))
    }
}
