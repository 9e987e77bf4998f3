import Foundation
import NIOCore
import NIOPosix
import Testing
import TickplexTestSupport

/// The attacks of "safe to expose", each over real sockets against the real binary.
@Suite("Hostile clients against the real binary", .serialized)
struct HostileClientTests {
    static let bystanderStream = "tickplex.bybit.linear.ticker.BTCUSDT"

    /// A well-behaved client on a ticker, receiving data, to show that an attack leaves others served.
    static func bystander(port: Int) async -> WireClient {
        let bystander = WireClient(port: port)
        bystander.send(#"{"op":"subscribe","args":["ticker:BTCUSDT"]}"#)
        #expect(await eventually { !bystander.data(for: bystanderStream).isEmpty })
        return bystander
    }

    /// New data still reaches the bystander after the attack.
    static func expectStillServed(_ bystander: WireClient) async {
        let seen = bystander.data(for: bystanderStream).count
        #expect(await eventually { bystander.data(for: bystanderStream).count > seen })
    }

    @Test("a flood of empty non-final continuation frames is closed 1008; RSS grows < 50 MB; others are served")
    func fragmentFlood() async throws {
        try await TickplexProcess.serving([:]) { port, process in
            let bystander = await Self.bystander(port: port)
            let before = try #require(process.residentBytes)
            // 20 connections, each a text frame that never finishes followed by 200,000 empty continuations
            // (6 bytes each, 1.2 MB): the attack that grew the node to 2.7 GB.
            let opening = RawWebSocketClient.frame(opcode: 0x1, fin: false, payload: [])
            let empty = RawWebSocketClient.frame(opcode: 0x0, fin: false, payload: [])
            let flood = opening + Array((0..<200_000).map { _ in empty }.joined())
            for _ in 0..<20 {
                let attacker = try await RawWebSocketClient.connect(port: port, receiveBufferBytes: 65_536)
                #expect(await attacker.handshake() == 101)
                try? await attacker.sendRaw(flood)
                #expect(await eventually { attacker.received.closeCode != nil || attacker.isClosed })
                #expect(
                    attacker.received.closeCode == 1008,
                    "closed \(attacker.received.closeCode.map(String.init) ?? "without a close frame")")
                #expect(attacker.received.closeReason?.contains("fragments") == true)
                attacker.close()
            }
            let after = try #require(process.residentBytes)
            #expect(after - before < 50 << 20, "RSS \(before >> 20) MB → \(after >> 20) MB")
            await Self.expectStillServed(bystander)
            bystander.close()
        }
    }

    @Test("a client that floods pings and never reads: its pongs do not pile up (RSS grows < 50 MB); others are served")
    func pingFloodWithoutReading() async throws {
        try await TickplexProcess.serving([:]) { port, process in
            let bystander = await Self.bystander(port: port)
            let before = try #require(process.residentBytes)
            let attacker = try await RawWebSocketClient.connect(port: port)
            #expect(await attacker.handshake() == 101)
            try await attacker.setReading(false)
            // 800,000 pings of 125 bytes (105 MB): answered in full they would be ~100 MB of pongs queued for a
            // socket that takes nothing.
            let ping = RawWebSocketClient.frame(opcode: 0x9, fin: true, payload: Array(repeating: 0x61, count: 125))
            let burst = Array((0..<10_000).map { _ in ping }.joined())
            for _ in 0..<80 { try? await attacker.sendRaw(burst) }
            // Give the node time to read everything it was sent.
            try await Task.sleep(for: .seconds(2))
            let after = try #require(process.residentBytes)
            #expect(after - before < 50 << 20, "RSS \(before >> 20) MB → \(after >> 20) MB")
            await Self.expectStillServed(bystander)
            attacker.close()
            bystander.close()
        }
    }

    @Test("at MAX_CLIENTS every Upgrade form is refused 503 (h2c, websocket; repeated; odd case), none gets 101")
    func upgradeFormsAtTheCap() async throws {
        try await TickplexProcess.serving(["MAX_CLIENTS": "1"]) { port, _ in
            let first = try await RawWebSocketClient.connect(port: port)
            #expect(await first.handshake() == 101)
            let forms: [[(String, String)]] = [
                [("Upgrade", "h2c, websocket")], [("upgrade", "WebSocket")],
                [("Upgrade", "h2c"), ("Upgrade", "websocket")],
                [("UPGRADE", "  websocket ")], [("Upgrade", "websocket")],
            ]
            for headers in forms {
                let c = try await RawWebSocketClient.connect(port: port, headers: headers)
                _ = await c.handshake()
                #expect(c.received.handshakeStatus == 503, "\(headers) → \(c.received.handshakeStatus ?? -1)")
                c.close()
            }
            first.close()
        }
    }

    @Test("slowloris: heads that never finish are closed after HTTP_HEAD_TIMEOUT_MS while new clients are served")
    func slowloris() async throws {
        try await TickplexProcess.serving(["HTTP_HEAD_TIMEOUT_MS": "1500"]) { port, _ in
            var sockets: [any Channel] = []
            for _ in 0..<100 {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port).get()
                try await channel.writeAndFlush(ByteBuffer(string: "GET /ws HTTP/1.1\r\nHost: x\r\nX-A: ")).get()
                sockets.append(channel)
            }
            let started = ContinuousClock.now
            // A byte now and then keeps a slowloris connection "busy"; it must be closed all the same.
            for channel in sockets { channel.writeAndFlush(ByteBuffer(string: "a"), promise: nil) }
            let client = WireClient(port: port)
            client.send(#"{"op":"ping"}"#)
            #expect(await eventually { !client.replies("pong").isEmpty }, "a new client is served meanwhile")
            let all = sockets
            #expect(await eventually(timeout: .seconds(10)) { all.allSatisfy { !$0.isActive } })
            #expect(ContinuousClock.now - started < .seconds(6))
            let (status, _) = try await httpGet(port: port, "/ready")
            #expect(status == 200)
            client.close()
        }
    }

    @Test("MAX_CONNECTIONS_PER_IP and the per-IP rate answer 429 before the upgrade; X-Forwarded-For only when trusted")
    func perIPLimits() async throws {
        try await TickplexProcess.serving(["MAX_CONNECTIONS_PER_IP": "3"]) { port, _ in
            var open: [RawWebSocketClient] = []
            for _ in 0..<3 {
                let c = try await RawWebSocketClient.connect(port: port)
                #expect(await c.handshake() == 101)
                open.append(c)
            }
            // Claiming another address changes nothing unless the proxy headers are trusted.
            let fourth = try await RawWebSocketClient.connect(
                port: port, headers: [("Upgrade", "websocket"), ("X-Forwarded-For", "203.0.113.9")])
            _ = await fourth.handshake()
            #expect(fourth.received.handshakeStatus == 429)
            #expect(fourth.received.handshakeText.contains("too many open connections from 127.0.0.1"))
            let rest = try await httpGet(port: port, "/ready")
            #expect(rest.status == 429, "REST sockets count too")
            open[0].close()
            try await Task.sleep(for: .milliseconds(300))
            let again = try await RawWebSocketClient.connect(port: port)
            #expect(await again.handshake() == 101, "a closed connection frees its place")
            for c in open + [again, fourth] { c.close() }
        }
        try await TickplexProcess.serving(["MAX_NEW_CONNECTIONS_PER_IP_PER_MIN": "5", "TRUST_PROXY_HEADERS": "true"]) {
            port, _ in
            var statuses: [Int] = []
            for _ in 0..<7 {
                let c = try await RawWebSocketClient.connect(
                    port: port, headers: [("Upgrade", "websocket"), ("X-Forwarded-For", "198.51.100.1, 203.0.113.7")])
                _ = await c.handshake()
                statuses.append(c.received.handshakeStatus ?? -1)
                c.close()
            }
            #expect(statuses == [101, 101, 101, 101, 101, 429, 429])
            // Another client behind the same proxy (its own last X-Forwarded-For entry) is not affected.
            let other = try await RawWebSocketClient.connect(
                port: port, headers: [("Upgrade", "websocket"), ("X-Forwarded-For", "203.0.113.8")])
            #expect(await other.handshake() == 101)
            other.close()
        }
    }

    @Test("MAX_CONNECTIONS counts every open socket, upgraded or not: past it 503, at once")
    func maxConnections() async throws {
        try await TickplexProcess.serving(["MAX_CONNECTIONS": "4"]) { port, _ in
            var held: [RawWebSocketClient] = []
            for _ in 0..<2 {
                let c = try await RawWebSocketClient.connect(port: port)
                #expect(await c.handshake() == 101)
                held.append(c)
            }
            var idle: [any Channel] = []
            for _ in 0..<2 {
                idle.append(
                    try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .connect(host: "127.0.0.1", port: port).get())
            }
            // The client's connect completes when the kernel has the connection, the server counts it when it
            // accepts it: a moment for that (nothing on these sockets can tell; they are idle by design).
            try await Task.sleep(for: .seconds(1))
            let over = try await RawWebSocketClient.connect(port: port)
            _ = await over.handshake()
            #expect(over.received.handshakeStatus == 503)
            for c in idle { try? await c.close() }
            for c in held { c.close() }
            over.close()
            try await Task.sleep(for: .milliseconds(300))
            let (status, _) = try await httpGet(port: port, "/ready")
            #expect(status == 200, "places come back when sockets close")
        }
    }
}
