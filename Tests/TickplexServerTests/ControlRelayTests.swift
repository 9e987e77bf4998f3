import Logging
import Synchronization
import Testing
import TickplexModel
import TickplexTestSupport
import TickplexUpstream

@testable import TickplexServer

@Suite("Control notices on their own bounded path")
struct ControlRelayTests {
    @Test(
        "refusals and states reach the handler in order, apart from market data; past the bound the oldest go, counted")
    func relay() async throws {
        let (notices, sink) = ControlRelay.makeChannel()
        for i in 0..<(ControlRelay.bound + 3) {
            sink.submit(.rejected(.ticker("S\(i)USDT"), reason: "r\(i)"))
        }
        sink.submit(.event(MarketEvent(key: .ticker("X"), exchangeTime: 0, payload: .trades([]))))
        #expect(sink.droppedCount == 4, "three refusals and the event beyond the bound")
        let seen = NoticeBox()
        let relay = ControlRelay(notices: notices, logger: Logger(label: "test")) { seen.add($0) }
        let task = Task { try await relay.run() }
        #expect(
            await eventually { seen.count == ControlRelay.bound - 1 }, "the event in the buffer is not a control notice"
        )
        #expect(seen.first == .rejected(.ticker("S4USDT"), reason: "r4"), "oldest dropped, the rest in order")
        task.cancel()
    }
}

final class NoticeBox: Sendable {
    private let items = Mutex<[UpstreamNotice]>([])
    func add(_ n: UpstreamNotice) { items.withLock { $0.append(n) } }
    var count: Int { items.withLock { $0.count } }
    var first: UpstreamNotice? { items.withLock { $0.first } }
}
