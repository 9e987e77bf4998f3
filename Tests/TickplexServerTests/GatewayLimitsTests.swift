import Foundation
import Synchronization
import Testing
import TickplexServer
import TickplexTestSupport

@Suite("Gateway limits: MAX_CLIENTS and CLIENT_IDLE_TIMEOUT over real sockets")
struct GatewayLimitsTests {
    @Test(
        "over MAX_CLIENTS the upgrade is refused with HTTP 503; a freed place is taken again",
        arguments: BusMode.allCases)
    func maxClients(bus: BusMode) async throws {
        try await withNode(bus: bus, ["MAX_CLIENTS": "2"]) { port, node in
            let a = WireClient(port: port)
            let b = WireClient(port: port)
            a.send(#"{"op":"ping"}"#)
            b.send(#"{"op":"ping"}"#)
            #expect(await eventually { !a.replies("pong").isEmpty && !b.replies("pong").isEmpty })
            let third = try await RawWebSocketClient.connect(port: port)
            #expect(await eventually { third.received.handshakeStatus != nil })
            #expect(third.received.handshakeStatus == 503, "refused before the upgrade")
            #expect(node.clientCount == 2)
            a.close()
            #expect(await eventually { node.clientCount == 1 && node.clientSlotsInUse == 1 })
            let fourth = try await RawWebSocketClient.connect(port: port)
            #expect(await eventually { fourth.received.handshakeStatus != nil })
            #expect(fourth.received.handshakeStatus == 101)
            try await fourth.send(#"{"op":"ping"}"#)
            #expect(await eventually { fourth.received.texts.contains { $0.contains(#""op":"pong""#) } })
            third.close()
            fourth.close()
            b.close()
        }
    }

    @Test(
        "CLIENT_IDLE_TIMEOUT: the server pings; a client answering pongs stays, one that never answers is closed",
        arguments: BusMode.allCases)
    func idleTimeout(bus: BusMode) async throws {
        // Generous (pings every 4 s) so that a loaded machine does not starve the answering client.
        try await withNode(bus: bus, ["CLIENT_IDLE_TIMEOUT": "8"]) { port, node in
            // WireClient's WebSocket stack answers pings; the raw client reads but never answers.
            let alive = WireClient(port: port)
            let silent = try await RawWebSocketClient.connect(port: port)
            #expect(await eventually { silent.received.handshakeStatus == 101 })
            #expect(await eventually { node.clientCount == 2 })
            // Pings every 4 s; the one not answered by the next ping closes the connection.
            #expect(await eventually(timeout: .seconds(25)) { silent.isClosed }, "closed after unanswered pings")
            #expect(silent.received.pings >= 1, "the server pinged it first")
            #expect(await eventually { node.clientCount == 1 })
            alive.send(#"{"op":"ping"}"#)
            #expect(await eventually { !alive.replies("pong").isEmpty })
            #expect(alive.box.closeCode.withLock { $0 } == nil, "the answering client is still connected")
            alive.close()
        }
    }
}
