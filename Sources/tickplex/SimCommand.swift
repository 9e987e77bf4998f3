import ArgumentParser
import Foundation
import Logging
import TickplexSimulator

/// `tickplex sim`: the exchange simulator on its own, for trying Tickplex (or any client) without network.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run the built-in exchange simulator (Bybit V5 + Binance market streams) on loopback."
    )

    @Option(help: "Listen address (loopback unless you mean it)") var host = "127.0.0.1"
    @Option(help: "Port (0 = any free port)") var port = 9400
    @Option(help: "Data frames per second per subscribed topic") var rate = 10
    @Option(name: .customLong("ping-seconds"), help: "Binance ping period (SIM_PING_S)")
    var pingSeconds = Double(ProcessInfo.processInfo.environment["SIM_PING_S"] ?? "20") ?? 20
    @Option(help: "Random-walk seed") var seed: UInt64 = 42
    @Option(help: "Replay a recorded Bybit JSONL file (frames looped per topic) instead of generated data")
    var replay: String?

    func run() async throws {
        var config = ExchangeSimulator.Configuration()
        config.host = host
        config.port = port
        config.framesPerSecond = rate
        config.pingSeconds = pingSeconds
        config.seed = seed
        if let replay {
            let topics = try config.loadReplay(contentsOf: replay)
            print("replaying \(topics.count) topic(s) from \(replay): \(topics.prefix(8).joined(separator: ", "))")
        }
        let sim = try await ExchangeSimulator.start(config)
        let base = sim.baseURL
        let banner =
            ("""
            simulator listening on \(base) — simulated prices, not real market data
              Bybit:   \(base)/v5/public/spot  \(base)/v5/public/linear  \(base)/v5/public/inverse
              Binance: \(base)/ws/<stream>  \(base)/stream?streams=a/b  (USD-M: \(base)/usdm/...)
              control: GET \(base.replacingOccurrences(of: "ws://", with: "http://"))/sim/connections; POST /sim/drop /sim/stall /sim/malformed /sim/snapshot /sim/skip-update-id /sim/refuse?seconds=N

            """)
        // Written unbuffered: whoever started us (a script, a test) reads the port from this.
        FileHandle.standardOutput.write(Data(banner.utf8))
        // Runs until interrupted.
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }
}
