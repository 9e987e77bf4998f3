import Metrics
import Prometheus
import Synchronization
import TickplexModel
import TickplexUpstream

/// `/metrics`: swift-metrics instruments backed by one swift-prometheus registry per node (no global bootstrap,
/// so that several nodes can live in one process, as in the tests). The `/stats` figures are brought in at each
/// scrape (counters advance by what happened since the previous scrape); the fan-out latency histogram and the
/// per-stream last prices are recorded as things happen.
final class NodeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// Bus receive → the frame handed to the last client socket of an event loop.
    let fanoutLatency: Metrics.Timer
    private let maxPriceStreams: Int
    private let prices = Mutex<[String: Metrics.Gauge]>([:])
    private let counted = Mutex<[String: Int]>([:])

    static let latencyLabel = "tickplex_fanout_latency_seconds"

    init(maxPriceStreams: Int) {
        self.maxPriceStreams = maxPriceStreams
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[Self.latencyLabel] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .seconds(1),
        ]
        self.factory = factory
        fanoutLatency = Metrics.Timer(label: Self.latencyLabel, dimensions: [], factory: factory)
    }

    /// The latest price of a ticker stream, for at most `METRICS_MAX_STREAMS` streams (bounded label cardinality:
    /// streams beyond the bound get no gauge).
    func recordPrice(stream: String, price: String) {
        guard let value = Double(price) else { return }
        let gauge: Metrics.Gauge? = prices.withLock { p in
            if let g = p[stream] { return g }
            guard p.count < maxPriceStreams else { return nil }
            let g = Metrics.Gauge(label: "tickplex_last_price", dimensions: [("stream", stream)], factory: factory)
            p[stream] = g
            return g
        }
        gauge?.record(value)
    }

    /// Brings the `/stats` figures in; returns the Prometheus text.
    func scrape(_ s: NodeStats) -> [UInt8] {
        gauge("tickplex_clients", s.clients)
        gauge("tickplex_subscriptions", s.subscriptions)
        gauge("tickplex_streams", s.streams)
        gauge("tickplex_bus_channels", s.busChannels)
        gauge("tickplex_uptime_seconds", s.uptimeSeconds)
        Metrics.Gauge(label: "tickplex_messages_in_per_second", factory: factory).record(s.messages.inPerSecond)
        Metrics.Gauge(label: "tickplex_messages_out_per_second", factory: factory).record(s.messages.outPerSecond)
        gauge("tickplex_build_info", 1, [("version", s.version), ("simulated", s.simulated ? "true" : "false")])
        counter("tickplex_messages_in_total", s.messages.inTotal)
        counter("tickplex_messages_out_total", s.messages.outTotal)
        counter("tickplex_conflated_total", s.conflated)
        counter("tickplex_dropped_total", s.dropped)
        counter("tickplex_slow_consumer_closes_total", s.slowConsumerCloses)
        counter("tickplex_write_stall_closes_total", s.writeStallCloses)
        counter("tickplex_publish_failures_total", s.publishFailures)
        let l = s.limits
        gauge("tickplex_open_connections", l.openConnections)
        for (status, n) in l.refusedConnections.sorted(by: { $0.key < $1.key }) {
            counter("tickplex_connections_refused_total", n, [("status", status)])
        }
        counter("tickplex_head_timeouts_total", l.headTimeouts)
        counter("tickplex_new_stream_refusals_total", l.newStreamRefusals)
        gauge("tickplex_upstream_streams", l.upstreamStreams)
        counter("tickplex_upstream_stream_refusals_total", l.upstreamStreamRefusals)
        counter("tickplex_upstream_connect_attempts_total", l.upstreamConnectAttempts)
        counter("tickplex_upstream_connect_attempts_delayed_total", l.upstreamConnectAttemptsDelayed)
        counter("tickplex_publisher_input_dropped_total", l.publisherInputDropped)
        for (host, r) in s.rest.sorted(by: { $0.key < $1.key }) {
            counter("tickplex_rest_requests_total", r.requests, [("host", host)])
            counter("tickplex_rest_weight_total", r.weight, [("host", host)])
            counter("tickplex_rest_delayed_total", r.delayed, [("host", host)])
            for (status, n) in r.refusals.sorted(by: { $0.key < $1.key }) {
                counter("tickplex_rest_refusals_total", n, [("host", host), ("status", status)])
            }
        }
        counter("tickplex_bus_dropped_total", l.busDropped)
        for venue in Venue.allCases {
            let connections = s.upstreams[venue.rawValue]?.connections ?? []
            let live = connections.filter { $0.state == "live" }.count
            gauge("tickplex_upstream_connections", live, [("venue", venue.rawValue), ("state", "live")])
            gauge(
                "tickplex_upstream_connections", connections.count - live,
                [("venue", venue.rawValue), ("state", "reconnecting")])
            // Every connect after a connection's first is a reconnect.
            counter(
                "tickplex_upstream_reconnects_total", connections.reduce(0) { $0 + max(0, $1.connects - 1) },
                [("venue", venue.rawValue)])
        }
        if let redis = s.redis {
            gauge("tickplex_redis_up", redis.commands == "connected" ? 1 : 0, [("connection", "commands")])
            gauge("tickplex_redis_up", redis.subscriber == "connected" ? 1 : 0, [("connection", "subscriber")])
        }
        return registry.emitToBuffer()
    }

    private func gauge(_ label: String, _ value: Int, _ dimensions: [(String, String)] = []) {
        Metrics.Gauge(label: label, dimensions: dimensions, factory: factory).record(value)
    }

    /// Advances a counter to `total` (the node's own running total).
    private func counter(_ label: String, _ total: Int, _ dimensions: [(String, String)] = []) {
        let id = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        let delta = counted.withLock { c -> Int in
            let d = total - (c[id] ?? 0)
            if d > 0 { c[id] = total }
            return d
        }
        let counter = Metrics.Counter(label: label, dimensions: dimensions, factory: factory)
        // Touch it even at zero so that the series is always present.
        counter.increment(by: max(delta, 0))
    }
}
