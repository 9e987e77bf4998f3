import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing
import TickplexLoad

/// The load client against a small WebSocket server that sends known frames (a gap, duplicates, a reply, a ping):
/// the counts the bench reports are the counts the server sent.
@Suite("Load client against a known server")
struct LoadConnectionTests {
    @Test("two clients (one peeking, one parsing): subscribe sent, every frame counted, gaps and duplicates found")
    func knownServer() async throws {
        let subscribes = Mutex<[String]>([])
        let wsRouter = Router(context: BasicWebSocketRequestContext.self)
        wsRouter.ws("/ws") { _, _ in
            .upgrade()
        } onUpgrade: { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
            if case .text(let text) = try await messages.next() { subscribes.withLock { $0.append(text) } }
            try await outbound.write(.text(#"{"op":"subscribe","success":true}"#))
            let ts = Int64(Date().timeIntervalSince1970 * 1000) - 5
            for (stream, seq) in [("a", 1), ("a", 2), ("b", 1), ("a", 4), ("a", 4), ("b", 2), ("a", 3)] {
                try await outbound.write(
                    .text(
                        #"{"stream":"\#(stream)","type":"update","seq":\#(seq),"data":{"p":"1"},"ts":\#(ts),"recvTs":\#(ts),"source":"t"}"#
                    ))
            }
            // Until the client leaves.
            while try await messages.next() != nil {}
        }
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: Router(), server: .http1WebSocketUpgrade(webSocketRouter: wsRouter),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        let services = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
            let serverPort = port.withLock { $0 }!
            let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let peeking = LoadRecorder()
            let parsing = LoadRecorder()
            let channels = [
                try await LoadConnection.connect(
                    port: serverPort, arguments: ["ticker:A", "trade:B"], parse: false, recorder: peeking,
                    group: loop),
                try await LoadConnection.connect(
                    port: serverPort, arguments: ["ticker:A", "trade:B"], parse: true, recorder: parsing, group: loop),
            ]
            let deadline = ContinuousClock.now + .seconds(10)
            while peeking.snapshot().deliveries + parsing.snapshot().deliveries < 14, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            for (recorder, parse) in [(peeking, false), (parsing, true)] {
                let tally = recorder.snapshot()
                #expect(tally.deliveries == 7)
                #expect(tally.gaps == 1 && tally.duplicates == 2)
                #expect(tally.other == 1, "the subscribe reply")
                #expect(tally.parsed == (parse ? 7 : 0))
                #expect(tally.latencyCount == 5 && tally.latencyMs(50) >= 5)
                #expect(recorder.connectedWithData == 1 && recorder.closed == 0)
                #expect(recorder.upgraded == 1 && recorder.refused == 0)
            }
            // A path the server has no WebSocket route for: the upgrade is answered 404, counted as refused.
            let refusing = LoadRecorder()
            let refusedChannel = try await LoadConnection.connect(
                port: serverPort, path: "/nope", arguments: ["ticker:A"], parse: false, recorder: refusing, group: loop)
            let refusedBy = ContinuousClock.now + .seconds(10)
            while refusing.refused == 0, ContinuousClock.now < refusedBy {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(refusing.refused == 1 && refusing.upgraded == 0 && refusing.snapshot().deliveries == 0)
            try? await refusedChannel.closeFuture.get()
            #expect(
                subscribes.withLock { $0 }
                    == Array(repeating: #"{"op":"subscribe","args":["ticker:A","trade:B"]}"#, count: 2))
            for channel in channels { try? await channel.close() }
            try await loop.shutdownGracefully()
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
