import ArgumentParser
import Foundation
import Logging
import NIOCore
import TickplexBus
import TickplexConfig
import TickplexModel
import TickplexRedis

/// Pipelined PUBLISH throughput of `RedisClient`, comparable with
/// `redis-benchmark -P <pipeline> -n <count> PUBLISH ch <payload>`. `--mode event` sends what a node alone sends
/// per stateful event (`SET … PX` + `PUBLISH`), `--mode fenced` what a cluster's lease holder sends (one EVAL that
/// checks the lease, stores the `seq` and the value, and publishes): their ratio is the price of fencing.
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
    @Option(help: "publish (PUBLISH only), event (SET PX + PUBLISH per event) or fenced (one fenced EVAL per event)")
    var mode = "publish"

    func validate() throws {
        guard let url = RedisURL(redisURL), ["127.0.0.1", "localhost", "::1"].contains(url.host) else {
            throw ValidationError("--redis-url must be a loopback redis:// URL")
        }
        guard ["publish", "event", "fenced"].contains(mode) else {
            throw ValidationError("--mode must be publish, event or fenced")
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
            if mode == "fenced" {
                _ = try await client.send(.init("SET", .string(Self.names.lease), "bench-token", "PX", 600_000))
            }
            for _ in 0..<runs {
                rates.append(try await once(client: client, body: body))
            }
            group.cancelAll()
        }
        rates.sort()
        let median = rates[rates.count / 2]
        print(
            "redis-publish (\(mode)): \(count) events, payload \(payload) B, pipeline \(pipeline), concurrency \(concurrency):"
                + " median \(Int(median)) req/s over \(runs) run(s) [\(rates.map { String(Int($0)) }.joined(separator: ", "))]"
        )
    }

    private func once(client: RedisClient, body: ByteBuffer) async throws -> Double {
        let batches = (count + pipeline - 1) / pipeline
        let batch = (0..<pipeline).flatMap { i in commands(seq: UInt64(i), body: body) }
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var i = worker
                    while i < batches {
                        let replies = try await client.send(batch)
                        precondition(replies.count == batch.count)
                        if mode == "fenced" { precondition(replies.allSatisfy { $0 == .integer(1) }) }
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

    static let names = StreamLeaseNames(lease: "bench:lease:ch", seq: "bench:seq:ch", channel: "ch")

    /// One event's commands in the chosen mode.
    private func commands(seq: UInt64, body: ByteBuffer) -> [RedisCommand] {
        switch mode {
        case "event":
            return [.init("SET", "bench:last:ch", .bytes(body), "PX", 5000), .publish("ch", body)]
        case "fenced":
            return [
                RedisStreamLeases.fencedPublish(
                    Self.names, token: "bench-token", seq: seq, payload: body, lastValue: ("bench:last:ch", 5000))
            ]
        default:
            return [.publish("ch", body)]
        }
    }
}
