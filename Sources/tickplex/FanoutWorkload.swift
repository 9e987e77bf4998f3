import Foundation

/// One fan-out workload of issue 12: how many clients, how many streams each of how many, at what rate, with what
/// burst. The same workload drives Tickplex (the simulator's tickers) and nginx + nchan (HTTP POSTs of ticker-shaped
/// messages to as many channels).
struct FanoutWorkload: Sendable, Equatable {
    var name: String
    var clients: Int
    /// Streams each client subscribes.
    var perClient: Int
    /// Distinct streams over all clients (synthetic tickers `T001USDT`… when more than one).
    var streams: Int
    /// Messages per second per stream; 0: idle (the first frame on subscribe only).
    var rate: Int
    /// Extra messages in one second on every stream, once, after the steady windows (W4).
    var burst: Int = 0

    static let presets: [FanoutWorkload] = [
        .init(name: "W1", clients: 1000, perClient: 1, streams: 1, rate: 50),
        .init(name: "W2", clients: 2000, perClient: 5, streams: 100, rate: 10),
        .init(name: "W1-large", clients: 10_000, perClient: 1, streams: 1, rate: 20),
        .init(name: "W2-large", clients: 5000, perClient: 10, streams: 200, rate: 5),
        .init(name: "W3", clients: 50_000, perClient: 1, streams: 100, rate: 0),
        .init(name: "W4", clients: 1000, perClient: 1, streams: 1, rate: 50, burst: 1000),
    ]

    static func preset(_ name: String) -> FanoutWorkload? {
        presets.first { $0.name.lowercased() == name.lowercased() }
    }

    var idle: Bool { rate == 0 }
    var expectedPerSecond: Int { clients * perClient * rate }

    /// The symbols of the streams: BTCUSDT alone, or `T001USDT`… (the simulator's `syntheticPrices`).
    var symbols: [String] {
        streams <= 1 ? ["BTCUSDT"] : (1...streams).map { "T" + String(format: "%03d", $0) + "USDT" }
    }

    /// Client `index`'s streams: `perClient` consecutive ones from `index × perClient`, wrapping, so that every
    /// stream has the same number of subscribers.
    func streams(ofClient index: Int) -> [Int] {
        (0..<min(perClient, streams)).map { (index * perClient + $0) % max(streams, 1) }
    }

    var summary: String {
        let load = idle ? "idle" : "\(rate) msg/s per stream"
        let burstText = burst > 0 ? ", then a burst of \(burst) messages in one second" : ""
        return "\(name): \(clients) clients × \(perClient) of \(streams) stream(s), \(load)\(burstText)"
    }
}
