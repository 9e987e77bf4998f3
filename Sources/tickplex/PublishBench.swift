import ArgumentParser
import Foundation
import Logging
import NIOCore
import TickplexBus
import TickplexConfig
import TickplexModel
import TickplexRedis
import TickplexServer
import TickplexUpstream

/// The publisher's throughput in Redis mode: N ticker events through `EventPublisher` (transform, last value,
/// PUBLISH) against a throwaway redis-server, with the pipelined writer and with one awaited command at a time.
struct PublishBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "EventPublisher throughput into Redis: pipelined vs one awaited command at a time."
    )

    @Option(help: "Ticker events per run") var count = 50_000
    @Option(help: "Distinct streams the events spread over") var streams = 100
    @Option(help: "Runs of each writer, interleaved (medians are reported)") var runs = 3

    func run() async throws {
        let port = try await FanoutBench.freePort()
        let redis = try ChildProcess(
            "/usr/bin/env",
            ["redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], [:])
        defer { redis.terminate(kill: true) }
        try await Task.sleep(for: .milliseconds(300))
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let client = RedisClient(
            configuration: RedisConfiguration(url: RedisURL("redis://127.0.0.1:\(port)")!), logger: logger)
        var rates: [String: [Double]] = [:]
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            try await client.waitUntilConnected(timeout: .seconds(5))
            let bus = RedisBus(client: client, logger: logger)
            for _ in 0..<runs {
                for name in ["pipelined", "awaited", "none"] {
                    let pipelined =
                        name == "pipelined"
                        ? PipelinedRedisEventWriter(
                            client: client, lastValueTTL: .seconds(60), historyMax: 1000, onFailure: { _ in }) : nil
                    let writer: any EventWriter =
                        if let pipelined {
                            pipelined
                        } else if name == "none" {
                            NullWriter()
                        } else {
                            DirectEventWriter(
                                bus: bus, store: RedisLastValueStore(client: client, ttl: .seconds(60)),
                                history: RedisCandleHistory(client: client, maxPerSeries: 1000))
                        }
                    let publisher = EventPublisher(brand: "tickplex", logger: logger, writer: writer)
                    rates[name, default: []].append(try await measure(publisher, client))
                    if let pipelined { say("  pipelined run: \(pipelined.batches) writes for \(count) events") }
                }
            }
            group.cancelAll()
        }
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        let (p, a) = (rates["pipelined"]!, rates["awaited"]!)
        say(
            "  no writes (transform only): \(rates["none"]!.map { String(format: "%.0f", $0) }.joined(separator: " / ")) events/s"
        )
        say("publish: \(count) ticker events over \(streams) streams into Redis, \(runs) interleaved runs")
        say("  pipelined: \(p.map { String(format: "%.0f", $0) }.joined(separator: " / ")) events/s")
        say("  awaited:   \(a.map { String(format: "%.0f", $0) }.joined(separator: " / ")) events/s")
        say(
            String(
                format:
                    "median: pipelined %.0f events/s, awaited %.0f events/s, ratio %.2f (median per-run ratio %.2f)",
                median(p), median(a), median(p) / median(a), median(zip(p, a).map { $0 / $1 })))
    }

    private func measure(_ publisher: EventPublisher, _ client: RedisClient) async throws -> Double {
        let events = (0..<count).map { i -> MarketEvent in
            var ticker = Ticker(symbol: "S\(i % streams)USDT")
            ticker.price = "65114.\(i % 100)"
            ticker.volume24h = "1234.5"
            return MarketEvent(
                key: .ticker("S\(i % streams)USDT"), exchangeTime: 1_786_310_817_583, payload: .ticker(ticker))
        }
        return try await withThrowingTaskGroup(of: Double.self) { group in
            group.addTask {
                try await publisher.run()
                return 0
            }
            let start = ContinuousClock.now
            for event in events { publisher.submit(.event(event)) }
            while publisher.published + publisher.failed < count { try await Task.sleep(for: .milliseconds(2)) }
            // Replies come in order: once this PING is answered, Redis has processed every command before it.
            _ = try await client.ping()
            let seconds = (ContinuousClock.now - start).inSeconds
            group.cancelAll()
            return Double(count) / seconds
        }
    }
}

/// Writes nothing: the publisher's own cost (transform, counters) as the ceiling.
struct NullWriter: EventWriter {
    func write(_ event: OutgoingEvent) async throws {}
}
