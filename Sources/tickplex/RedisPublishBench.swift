import ArgumentParser
import Foundation
import Logging
import NIOCore
import TickplexConfig
import TickplexModel
import TickplexRedis

/// Pipelined PUBLISH throughput of `RedisClient`, comparable with
/// `redis-benchmark -P <pipeline> -n <count> PUBLISH ch <payload>`.
struct RedisPublishBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis-publish",
        abstract: "Pipelined PUBLISH throughput of the Redis client."
    )

    @Option(help: "redis://host:port (loopback only)") var redisURL = "redis://127.0.0.1:6379"
    @Option(help: "Total PUBLISH commands") var count = 200_000
    @Option(help: "Commands per pipelined batch") var pipeline = 16
    @Option(help: "Concurrent tasks sending batches on the one connection") var concurrency = 50
    @Option(help: "Payload size in bytes") var payload = 3
    @Option(help: "Runs (the median is reported)") var runs = 1

    func validate() throws {
        guard let url = RedisURL(redisURL), ["127.0.0.1", "localhost", "::1"].contains(url.host) else {
            throw ValidationError("--redis-url must be a loopback redis:// URL")
        }
    }

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let client = RedisClient(configuration: RedisConfiguration(url: RedisURL(redisURL)!), logger: logger)
        let body = ByteBuffer(repeating: UInt8(ascii: "x"), count: payload)
        var rates: [Double] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            try await client.waitUntilConnected(timeout: .seconds(5))
            for _ in 0..<runs {
                rates.append(try await once(client: client, body: body))
            }
            group.cancelAll()
        }
        rates.sort()
        let median = rates[rates.count / 2]
        print(
            "redis-publish: \(count) PUBLISH, payload \(payload) B, pipeline \(pipeline), concurrency \(concurrency):"
                + " median \(Int(median)) req/s over \(runs) run(s) [\(rates.map { String(Int($0)) }.joined(separator: ", "))]"
        )
    }

    private func once(client: RedisClient, body: ByteBuffer) async throws -> Double {
        let batches = (count + pipeline - 1) / pipeline
        let batch = [RedisCommand](repeating: .publish("ch", body), count: pipeline)
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var i = worker
                    while i < batches {
                        let replies = try await client.send(batch)
                        precondition(replies.count == batch.count)
                        i += concurrency
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - start
        let seconds = elapsed.inSeconds
        return Double(batches * pipeline) / seconds
    }
}
