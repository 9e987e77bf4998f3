import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import Testing
import TickplexBus
import TickplexModel
import TickplexServer
import TickplexTestSupport

/// A real WebSocket client of the wire contract: sends frames, collects every text frame it receives.
final class WireClient: Sendable {
    final class Box: Sendable {
        let received = Mutex<[String]>([])
        /// Wall-clock arrival of each received text frame, in ms (same order as `received`).
        let arrivals = Mutex<[Double]>([])
        let closeCode = Mutex<Int?>(nil)
    }
    enum Outgoing: Sendable {
        case text(String)
        case binary([UInt8])
    }
    let box = Box()
    private let outbox: AsyncStream<Outgoing>.Continuation
    private let frames: AsyncStream<Outgoing>
    private let task: Task<Void, any Error>

    init(port: Int) {
        (frames, outbox) = AsyncStream.makeStream(of: Outgoing.self)
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
                        for await frame in frames {
                            switch frame {
                            case .text(let text): try await outbound.write(.text(text))
                            case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                            }
                        }
                    }
                    group.addTask {
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            if case .text(let t) = message {
                                let now = Date().timeIntervalSince1970 * 1000
                                box.received.withLock { $0.append(t) }
                                box.arrivals.withLock { $0.append(now) }
                            }
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

    func send(_ text: String) { outbox.yield(.text(text)) }
    func sendBinary(_ bytes: [UInt8]) { outbox.yield(.binary(bytes)) }
    func close() { outbox.finish() }

    var messages: [[String: Any]] {
        box.received.withLock { $0 }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Delivery latencies (arrival − the node's `recvTs`, ms) of the data frames of `stream` that arrived in
    /// `window` (wall-clock ms).
    func latencies(stream: String, window: ClosedRange<Double>) -> [Double] {
        let (texts, arrivals) = (box.received.withLock { $0 }, box.arrivals.withLock { $0 })
        return zip(texts, arrivals).compactMap { text, arrival in
            guard window.contains(arrival),
                let m = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                m["stream"] as? String == stream, let recvTs = (m["recvTs"] as? NSNumber)?.doubleValue
            else { return nil }
            return arrival - recvTs
        }
    }

    func data(for stream: String) -> [[String: Any]] { messages.filter { $0["stream"] as? String == stream } }
    func replies(_ op: String) -> [[String: Any]] { messages.filter { $0["op"] as? String == op } }
}

@Suite("Gateway: the client wire contract over real WebSockets (UPSTREAM=sim, both bus modes)")
struct GatewayTests {
    @Test(
        "subscribe → reply, snapshot first, then updates with seq +1; ping; errors keep the connection",
        arguments: BusMode.allCases)
    func protocolBasics(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim"]) { port, node in
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

    @Test(
        "200 clients on one trade stream receive every trade, in order, with no duplicate and no gap",
        arguments: BusMode.allCases)
    func fanout(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim"]) { port, _ in
            let clients = (0..<200).map { _ in WireClient(port: port) }
            for c in clients { c.send(#"{"op":"subscribe","args":["trade:ETHUSDT"]}"#) }
            let stream = "tickplex.bybit.linear.trade.ETHUSDT"
            #expect(
                await eventually(timeout: .seconds(30)) { clients.allSatisfy { $0.data(for: stream).count >= 20 } })
            // seq → the trade ids of that message, per client.
            let received: [[Int: [String]]] = clients.map { c in
                var bySeq: [Int: [String]] = [:]
                for m in c.data(for: stream) {
                    guard let seq = (m["seq"] as? NSNumber)?.intValue else { continue }
                    bySeq[seq] = (m["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                }
                return bySeq
            }
            for (c, bySeq) in zip(clients, received) {
                let seqs = c.data(for: stream).compactMap { ($0["seq"] as? NSNumber)?.intValue }
                #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "in order, no gap, no duplicate")
                #expect(bySeq.values.allSatisfy { !$0.isEmpty }, "every message carries trades")
            }
            // Every client that received a seq received the same trades under it (one encoding, shared).
            let allSeqs = Set(received.flatMap(\.keys))
            for seq in allSeqs {
                let versions = Set(received.compactMap { $0[seq] })
                #expect(versions.count == 1, "seq \(seq): \(versions.count) different contents")
            }
            // They joined within moments of each other: a long common stretch was seen by all 200.
            let common = received.map { Set($0.keys) }.reduce(allSeqs) { $0.intersection($1) }
            #expect(common.count >= 10, "common seqs: \(common.count)")
            for c in clients { c.close() }
        }
    }

    @Test(
        "an unknown symbol: accepted, then subscription_error in the exchange's words; venue limits rejected at once",
        arguments: BusMode.allCases)
    func refusals(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim"]) { port, node in
            try await listOnlyInCatalogue("NOTASYMBOL", on: .bybitLinear, node: node)
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
