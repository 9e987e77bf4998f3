import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TickplexBus
import TickplexCore
import TickplexRedis
import UnixSignals

/// The composition root: builds the bus, the last-value store, the HTTP application and the services that run
/// them, from one `TickplexConfig`. `REDIS_URL` unset → in-process bus and store (single node).
public final class TickplexNode: Sendable {
    public let config: TickplexConfig
    public let bus: any MessageBus
    public let store: any LastValueStore
    public let redis: RedisClient?
    let logger: Logger

    public init(config: TickplexConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        if let url = config.redisURL {
            let redisConfig = RedisConfiguration(
                url: url,
                connectTimeout: .milliseconds(config.redisConnectTimeoutMs),
                commandTimeout: .milliseconds(config.redisCommandTimeoutMs))
            let client = RedisClient(configuration: redisConfig, logger: logger)
            redis = client
            bus = RedisBus(client: client, logger: logger)
            store = RedisLastValueStore(client: client, ttl: .milliseconds(config.lastValueTTLMs))
        } else {
            redis = nil
            bus = InProcessBus()
            store = InMemoryLastValueStore(ttl: .milliseconds(config.lastValueTTLMs))
        }
    }

    /// One line per dependency saying what this node is connected to.
    public var modeDescription: [String] {
        var lines: [String] = []
        if let url = config.redisURL {
            lines.append("bus: redis pub/sub at \(url); last values and candles in redis")
        } else {
            lines.append("bus: in-process (no REDIS_URL set): single node, last values in memory")
        }
        switch config.upstream {
        case .sim:
            lines.append("upstream: SIMULATOR (UPSTREAM=sim) — simulated prices, not real market data")
        case .exchange:
            lines.append(
                "upstream: exchanges — bybit \(config.bybitLinearURL), \(config.bybitSpotURL), "
                    + "\(config.bybitInverseURL); binance \(config.binanceSpotURL), \(config.binanceUSDMURL)")
        }
        // Said plainly until the upstream pool lands, so nobody waits for data that cannot come.
        lines.append("upstream pool: not built yet in this version — no exchange or simulator connections are made")
        return lines
    }

    var healthMonitor: HealthMonitor {
        HealthMonitor(config: config, redis: redis, subscriber: (bus as? RedisBus)?.subscriber, busKind: bus.kind)
    }

    /// The HTTP routes of the node.
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        HealthRoutes(health: healthMonitor).register(on: router)
        return router
    }

    /// Every service of the node, in start order (shut down in reverse: HTTP first, Redis last).
    /// `onListening` receives the bound address (useful with `PORT=0`).
    public func makeServiceGroup(
        gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint],
        onListening: @escaping @Sendable (SocketAddress) async -> Void = { _ in }
    ) -> ServiceGroup {
        let logger = self.logger
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "tickplex"),
            onServerRunning: { channel in
                if let address = channel.localAddress {
                    logger.info("listening on http://\(Self.hostPort(address))")
                    await onListening(address)
                }
            },
            logger: logger
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let redis {
            services.append(.init(service: redis))
        }
        if let redisBus = bus as? RedisBus {
            services.append(.init(service: redisBus.subscriber))
        }
        services.append(.init(service: app))
        return ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: gracefulShutdownSignals,
                cancellationSignals: [],
                logger: logger))
    }

    static func hostPort(_ address: SocketAddress) -> String {
        let ip = address.ipAddress ?? "?"
        let host = ip.contains(":") ? "[\(ip)]" : ip
        return "\(host):\(address.port ?? 0)"
    }
}
