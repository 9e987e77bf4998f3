import Foundation
import Logging
import Synchronization
import Testing
import TickplexConfig
import TickplexModel
import TickplexSimulator
import TickplexUpstream

var quietLogger: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] == nil ? .critical : .debug
    return logger
}

/// Every notice a pool emitted, thread-safe.
final class NoticeLog: Sendable {
    private let items = Mutex<[UpstreamNotice]>([])
    func append(_ n: UpstreamNotice) { items.withLock { $0.append(n) } }
    var all: [UpstreamNotice] { items.withLock { $0 } }
    var events: [MarketEvent] {
        all.compactMap { if case .event(let e) = $0 { e } else { nil } }
    }
    func events(for key: StreamKey) -> [MarketEvent] { events.filter { $0.key == key } }
    var rejections: [(StreamKey, String)] {
        all.compactMap { if case .rejected(let k, let r) = $0 { (k, r) } else { nil } }
    }
}

func eventually(timeout: Duration = .seconds(10), _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(25))
    }
    return await condition()
}

func makePool(
    _ venue: Venue, sim: ExchangeSimulator, log: NoticeLog, timing: UpstreamTiming = .init(),
    linger: Duration = .seconds(30)
) -> UpstreamPool {
    let path: String
    switch venue {
    case .bybitSpot: path = "/v5/public/spot"
    case .bybitLinear: path = "/v5/public/linear"
    case .bybitInverse: path = "/v5/public/inverse"
    case .binanceSpot: path = ""
    case .binanceUSDM: path = "/usdm"
    }
    return UpstreamPool(
        venue: venue, url: WebSocketURL(sim.baseURL + path)!, linger: linger, timing: timing, logger: quietLogger
    ) { log.append($0) }
}

/// Args of every subscribe request the simulator saw on a Bybit connection.
func bybitSubscribeArgs(_ requests: [String]) -> [[String]] {
    requests.compactMap { text -> [String]? in
        guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            obj["op"] as? String == "subscribe"
        else { return nil }
        return obj["args"] as? [String]
    }
}
