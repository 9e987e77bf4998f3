import Foundation
import Testing
import TickplexSimulator
import TickplexTestSupport

@Suite("GET /metrics: Prometheus text that a strict parser accepts, and counters that move with traffic")
struct MetricsTests {
    static func scrape(_ port: Int) async throws -> [String: Double] {
        let (status, body) = try await httpGet(port: port, "/metrics")
        #expect(status == 200)
        let parsed = try PrometheusTextParser.parse(body)
        var values: [String: Double] = [:]
        for s in parsed.samples {
            let labels = s.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            values[labels.isEmpty ? s.name : "\(s.name){\(labels)}"] = s.value
        }
        return values
    }

    @Test("the parser rejects what the format forbids (so that passing it means something)")
    func parserIsStrict() {
        #expect(throws: (any Error).self) { try PrometheusTextParser.parse("no_type 1\n") }
        #expect(throws: (any Error).self) { try PrometheusTextParser.parse("# TYPE a counter\na{x=1} 1\n") }
        #expect(throws: (any Error).self) { try PrometheusTextParser.parse("# TYPE a counter\na one\n") }
        #expect(throws: (any Error).self) { try PrometheusTextParser.parse("# TYPE 1a gauge\n1a 1\n") }
        #expect(throws: (any Error).self) {
            try PrometheusTextParser.parse(
                "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 3\nh_count 3\nh_sum 1\n")
        }
        #expect(throws: Never.self) {
            try PrometheusTextParser.parse("# HELP a x\n# TYPE a gauge\na{b=\"c\\\"d\"} 1.5e3\n")
        }
    }

    @Test(
        "figures of /stats, fan-out latency histogram, reconnects, bounded per-stream prices",
        arguments: BusMode.allCases)
    func metrics(bus: BusMode) async throws {
        try await withNode(bus: bus, ["UPSTREAM": "sim", "METRICS_MAX_STREAMS": "2"]) { port, node in
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["trade:BTCUSDT","ticker:SOLUSDT"]}"#)
            #expect(await eventually { c.data(for: "tickplex.bybit.linear.trade.BTCUSDT").count >= 3 })
            // With Redis the demo tickers are taken by the node's first ownership tick once Redis is connected (up to
            // a second after start): wait until two tickers have published before reading the figures.
            let tickerPrices: @Sendable () async -> Int = {
                ((try? await Self.scrape(port))?.keys.filter { $0.hasPrefix("tickplex_last_price{") }.count) ?? 0
            }
            #expect(await eventually(timeout: .seconds(10)) { await tickerPrices() >= 2 })
            let first = try await Self.scrape(port)
            #expect(first["tickplex_clients"] == 1 && first["tickplex_streams"] == 2)
            #expect(first["tickplex_redis_up{connection=commands}"] == (bus == .redis ? 1 : nil))
            #expect((first["tickplex_upstream_connections{state=live,venue=bybit.linear}"] ?? 0) >= 1)
            #expect((first["tickplex_fanout_latency_seconds_count"] ?? 0) > 0, "latency recorded per delivery batch")
            let prices = first.keys.filter { $0.hasPrefix("tickplex_last_price{") }
            #expect(prices.count == 2, "at most METRICS_MAX_STREAMS=2 price series (3 tickers flow): \(prices)")
            #expect(prices.allSatisfy { (first[$0] ?? 0) > 0 })

            await node.simulator!.dropAll()
            #expect(
                await eventually(timeout: .seconds(10)) {
                    ((try? await Self.scrape(port))?["tickplex_upstream_reconnects_total{venue=bybit.linear}"] ?? 0)
                        >= 1
                })
            try await Task.sleep(for: .milliseconds(1200))
            let second = try await Self.scrape(port)
            for counter in [
                "tickplex_messages_in_total", "tickplex_messages_out_total", "tickplex_fanout_latency_seconds_count",
            ] {
                #expect((second[counter] ?? 0) > (first[counter] ?? 0), "\(counter) moves with traffic")
            }
            #expect((second["tickplex_messages_out_per_second"] ?? 0) > 0)
            c.close()
        }
    }
}
