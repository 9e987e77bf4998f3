import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import Testing
import TickplexTestSupport

/// A real WebSocket client of the wire contract: sends frames, collects every text frame it receives.
final class WireClient: Sendable {
    final class Box: Sendable {
        let received = Mutex<[String]>([])
        let closeCode = Mutex<Int?>(nil)
    }
    let box = Box()
    private let outbox: AsyncStream<String>.Continuation
    private let frames: AsyncStream<String>
    private let task: Task<Void, any Error>

    init(port: Int) {
        (frames, outbox) = AsyncStream.makeStream(of: String.self)
        let box = self.box
        let frames = self.frames
        var logger = Logger(label: "wire")
        logger.logLevel = .critical
        task = Task {
            let close = try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/ws", configuration: .init(maxFrameSize: 1 << 20), logger: logger
            ) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await frame in frames { try await outbound.write(.text(frame)) }
                    }
                    group.addTask {
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            if case .text(let t) = message { box.received.withLock { $0.append(t) } }
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
            if let code = close?.closeCode { box.closeCode.withLock { $0 = Int(UInt16(webSocketErrorCode: code)) } }
        }
    }

    deinit { task.cancel() }

    func send(_ text: String) { outbox.yield(text) }
    func close() { outbox.finish() }

    var messages: [[String: Any]] {
        box.received.withLock { $0 }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func data(for stream: String) -> [[String: Any]] { messages.filter { $0["stream"] as? String == stream } }
    func replies(_ op: String) -> [[String: Any]] { messages.filter { $0["op"] as? String == op } }
}

@Suite("Gateway: the client wire contract over real WebSockets (UPSTREAM=sim, in-process bus)")
struct GatewayTests {
    @Test("subscribe → reply, snapshot first, then updates with seq +1; ping; errors keep the connection")
    func protocolBasics() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            // The demo ticker is warm: a joining client gets its latest state at once.
            let key = "tickplex:last:tickplex.bybit.linear.ticker.BTCUSDT"
            #expect(await eventually { (try? await node.store.get(key)) != nil })
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["ticker:BTCUSDT","tickers.*"],"req_id":"a"}"#)
            #expect(await eventually { c.data(for: "tickplex.bybit.linear.ticker.BTCUSDT").count >= 4 })
            let reply = try #require(c.replies("subscribe").first)
            #expect(reply["success"] as? Bool == true && reply["req_id"] as? String == "a")
            #expect(reply["args"] as? [String] == ["ticker:BTCUSDT"])
            #expect((reply["rejected"] as? [[String: String]])?.first?["arg"] == "tickers.*")
            let data = c.data(for: "tickplex.bybit.linear.ticker.BTCUSDT")
            #expect(data.first?["type"] as? String == "snapshot")
            #expect(data.dropFirst().allSatisfy { $0["type"] as? String == "update" })
            let seqs = data.compactMap { ($0["seq"] as? NSNumber)?.intValue }
            // Tickers are conflated for a client that falls behind: seqs may skip, never repeat or go back.
            #expect(zip(seqs.dropFirst(), seqs.dropFirst(2)).allSatisfy { $1 > $0 }, "increasing: \(seqs)")
            c.send("{not json")
            c.send(#"{"op":"dance"}"#)
            c.send(#"{"op":"ping"}"#)
            #expect(await eventually { !c.replies("pong").isEmpty })
            let codes = c.replies("error").compactMap { $0["code"] as? String }
            #expect(codes == ["INVALID_JSON", "UNKNOWN_OP"])
            c.send(#"{"op":"list"}"#)
            #expect(await eventually { c.replies("list").first?["args"] as? [String] == ["ticker:BTCUSDT"] })
            c.close()
        }
    }

    @Test("20 clients on one trade stream receive the same messages, in order, without gaps or duplicates")
    func fanout() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, _ in
            let clients = (0..<20).map { _ in WireClient(port: port) }
            for c in clients { c.send(#"{"op":"subscribe","args":["trade:ETHUSDT"]}"#) }
            let stream = "tickplex.bybit.linear.trade.ETHUSDT"
            #expect(await eventually { clients.allSatisfy { $0.data(for: stream).count >= 20 } })
            for c in clients {
                let seqs = c.data(for: stream).compactMap { ($0["seq"] as? NSNumber)?.intValue }
                #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "in order, no gap, no duplicate")
            }
            for c in clients { c.close() }
        }
    }

    @Test("an unknown symbol: accepted, then subscription_error in the exchange's words; venue limits rejected at once")
    func refusals() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, _ in
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["trade:NOTASYMBOL","liquidation:BTCUSDT@bybit.spot"]}"#)
            #expect(await eventually { !c.replies("subscription_error").isEmpty })
            let err = try #require(c.replies("subscription_error").first)
            #expect(err["arg"] as? String == "trade:NOTASYMBOL")
            #expect(err["reason"] as? String == "error:handler not found,topic:publicTrade.NOTASYMBOL")
            let reply = try #require(c.replies("subscribe").first)
            #expect(
                ((reply["rejected"] as? [[String: String]])?.first?["reason"])?.contains(
                    "linear and inverse contracts only") == true)
            c.send(#"{"op":"list"}"#)
            #expect(await eventually { c.replies("list").first?["args"] as? [String] == [] })
            c.close()
        }
    }
}
