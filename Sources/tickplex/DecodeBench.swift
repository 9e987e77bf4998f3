import ArgumentParser
import Foundation
import TickplexModel
import TickplexVenues

/// Decode throughput of the venue adapters on recorded frames, one core (one thread, no I/O).
struct DecodeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Adapter decode throughput (frames/s, one core) on recorded sample frames."
    )

    @Option(help: "The recorded frames folder") var samples = "Tests/Fixtures/exchange"
    @Option(help: "Seconds per measurement") var seconds = 2.0
    @Option(help: "Runs per file (the median is reported)") var runs = 5

    func run() throws {
        let cases: [(name: String, file: String, category: BybitAdapter.Category)] = [
            ("linear tickers (snapshot + deltas, merged)", "bybit/tickers_linear.jsonl", .linear),
            ("linear publicTrade", "bybit/publicTrade_linear.jsonl", .linear),
            (
                "linear orderbook.200 (snapshot + deltas, local book, top 50)", "bybit/orderbook200_linear.jsonl",
                .linear
            ),
        ]
        for c in cases {
            let url = URL(fileURLWithPath: samples).appendingPathComponent(c.file)
            let frames = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
            var rates: [Double] = []
            for _ in 0..<runs { rates.append(try measure(frames: frames, category: c.category)) }
            rates.sort()
            let median = rates[rates.count / 2]
            print(
                "\(c.name): median \(Int(median)) frames/s over \(runs) runs of \(seconds) s "
                    + "[\(rates.map { String(Int($0)) }.joined(separator: ", "))] (\(frames.count) frames per pass)")
        }
    }

    private func measure(frames: [String], category: BybitAdapter.Category) throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let budget = Duration.milliseconds(Int(seconds * 1000))
        var decoded = 0
        var events = 0
        while clock.now - start < budget {
            // A fresh adapter per pass: the replay starts again from the recording's first snapshot.
            var adapter = BybitAdapter(category: category)
            for frame in frames {
                events += try adapter.decode(frame, receivedAt: 0).count
                decoded += 1
            }
        }
        precondition(events > 0)
        let elapsed = clock.now - start
        return Double(decoded) / elapsed.inSeconds
    }
}
