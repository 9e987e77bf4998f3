import Foundation
import Synchronization
import Testing
import TickplexSimulator
import TickplexTestSupport

/// Point 1 of "safe to expose": clients subscribing, unsubscribing, connecting and leaving on overlapping streams of
/// every venue for a minute while `/stats`, `/health` and `/metrics` are scraped in a loop; the real binary on a
/// real Redis and an independent simulator. The process lives, every scrape answers, and when the last client has
/// gone every count returns to zero: streams, subscriptions, bus channels (also as Redis sees them), upstream
/// topics (also as the exchange sees them).
@Suite("Churn on every venue for a minute", .serialized)
struct ChurnTests {
    static let args = [
        "ticker:BTCUSDT", "trade:BTCUSDT", "book:50:ETHUSDT", "kline:1m:BTCUSDT", "ticker:ETHUSDT",
        "ticker:BTCUSDT@bybit.spot", "trade:ETHUSDT@bybit.spot", "ticker:BTCUSD@bybit.inverse",
        "ticker:BTCUSDT@binance.spot", "trade:BTCUSDT@binance.spot", "book:5:ETHUSDT@binance.spot",
        "ticker:BTCUSDT@binance.usdm", "kline:1m:ETHUSDT@binance.usdm", "trade:NOPEUSDT", "liquidation:BTCUSDT",
    ]

    /// A small deterministic generator: a failing run can be repeated.
    struct Rand {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static var seconds: Int { Int(ProcessInfo.processInfo.environment["TICKPLEX_CHURN_SECONDS"] ?? "") ?? 60 }

    @Test("churn with scrapes: the process lives, scrapes answer, all counts return to zero", arguments: [0, 1])
    func churn(linger: Int) async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let sim = try await ExchangeSimulator.start(.init())
        var env = upstreamEnv(at: sim)
        env["UPSTREAM_LINGER_S"] = "\(linger)"
        env["REDIS_URL"] = redis.url
        // The churn itself is the point here; the per-client budget has its own test.
        env["MAX_NEW_STREAMS_PER_CLIENT_PER_MIN"] = "1000000"
        // Every scrape is a new loopback connection (~60 a second): the per-IP rate is not what is tested here.
        env["MAX_NEW_CONNECTIONS_PER_IP_PER_MIN"] = "1000000"
        try await TickplexProcess.serving(env) { port, _ in
            let failures = Mutex<[String]>([])
            let scrapes = Atomic<Int>(0)
            let scraper = Task {
                while !Task.isCancelled {
                    for path in ["/stats", "/health", "/metrics"] {
                        do {
                            let status = try await httpGet(port: port, path, timeout: .seconds(5)).status
                            let ok = path == "/health" ? [200, 503].contains(status) : status == 200
                            if !ok { failures.withLock { $0.append("\(path) \(status)") } }
                        } catch {
                            // The scraper's own end (cancelled mid-request) is not a failure of the node.
                            if Task.isCancelled { break }
                            failures.withLock { $0.append("\(path) \(error)") }
                        }
                        scrapes.add(1, ordering: .relaxed)
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            var rand = Rand(state: UInt64(42 + linger))
            var clients: [WireClient?] = Array(repeating: nil, count: 24)
            let deadline = ContinuousClock.now + .seconds(Self.seconds)
            while ContinuousClock.now < deadline {
                for _ in 0..<4 {
                    let slot = rand.next(clients.count)
                    guard let client = clients[slot] else {
                        clients[slot] = WireClient(port: port)
                        continue
                    }
                    let picked = (0...rand.next(4)).map { _ in "\"\(Self.args[rand.next(Self.args.count)])\"" }
                    switch rand.next(10) {
                    case 0..<5: client.send(#"{"op":"subscribe","args":[\#(picked.joined(separator: ","))]}"#)
                    case 5..<8: client.send(#"{"op":"unsubscribe","args":[\#(picked.joined(separator: ","))]}"#)
                    case 8: client.send(#"{"op":"list"}"#)
                    default:
                        client.close()
                        clients[slot] = nil
                    }
                }
                try await Task.sleep(for: .milliseconds(40))
            }
            for client in clients { client?.close() }
            scraper.cancel()
            _ = await scraper.value
            #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(10) })")
            #expect(scrapes.load(ordering: .relaxed) > Self.seconds * 5, "scraped throughout")

            // Everyone has gone: after the linger every count is zero.
            let last = Mutex("")
            let zero = await eventually(timeout: .seconds(Double(linger) + 15)) {
                guard let body = try? await httpGet(port: port, "/stats").body, let s = jsonObject(body),
                    let limits = s["limits"] as? [String: Any], let upstreams = s["upstreams"] as? [String: Any]
                else { return false }
                last.withLock { $0 = body }
                let topics = upstreams.values.compactMap { $0 as? [String: Any] }
                    .flatMap { ($0["connections"] as? [[String: Any]]) ?? [] }.map { $0["topics"] as? Int ?? -1 }
                return s["clients"] as? Int == 0 && s["subscriptions"] as? Int == 0 && s["streams"] as? Int == 0
                    && s["busChannels"] as? Int == 0 && limits["upstreamStreams"] as? Int == 0
                    && topics.allSatisfy { $0 == 0 }
            }
            #expect(zero, "counts did not return to zero: \(last.withLock { $0 })")
            #expect(try redisChannels(port: redis.port).isEmpty, "Redis still has subscribed channels")
            #expect(
                await eventually(timeout: .seconds(10)) {
                    await sim.openConnections().allSatisfy { $0.subscribed.isEmpty }
                }, "the exchange still carries topics")
            // The churn reached the exchange: streams were really created and removed upstream, on every venue.
            let seen = await sim.connections()
            let requests = seen.reduce(0) { $0 + $1.requests.count }
            // 24 clients on 15 streams keep most of them held: a run sees ~16–25 requests, by timing.
            #expect(
                requests >= 10,
                "\(requests) requests upstream: \(seen.map { "\($0.venue) \($0.requests)" })")
            #expect(Set(seen.map(\.venue)).count >= 4, "venues reached: \(Set(seen.map(\.venue)))")
        }
        await sim.stop()
    }

    /// `PUBSUB CHANNELS` as Redis itself sees it (redis-cli, installed with redis-server by Scripts/test).
    func redisChannels(port: Int) throws -> [String] {
        try runTool("redis-cli", ["-p", "\(port)", "PUBSUB", "CHANNELS"]).split(separator: "\n").map(String.init)
            .filter { !$0.isEmpty }
    }
}
