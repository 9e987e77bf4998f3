import Foundation
import Hummingbird
import HummingbirdCore
public import Logging
public import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization
public import TickplexBus
public import TickplexConfig
import TickplexModel
import TickplexProtocol
public import TickplexRedis
public import TickplexUpstream
public import UnixSignals

/// The composition root: builds the bus, the last-value store, the HTTP application and the services that run
/// them, from one `TickplexConfig`. `REDIS_URL` unset → in-process bus and store (single node).
public final class TickplexNode: Sendable {
    public let config: TickplexConfig
    public let bus: any MessageBus
    public let store: any LastValueStore
    public let history: any CandleHistory
    public let redis: RedisClient?
    public let upstream: UpstreamPools
    /// What each venue lists, loaded over REST and refreshed (`CATALOGUE_REFRESH_S`).
    public let catalogue: InstrumentCatalogue
    /// Loads the catalogue (a service of the node; tests may call `loadAll` directly).
    public let catalogueService: CatalogueService
    public let publisher: EventPublisher
    /// With Redis: which node carries each stream upstream (nil for a single node without Redis).
    let ownership: StreamOwnership?
    /// Where local wishes for streams go: `ownership`, or this node's pools.
    let demand: any UpstreamDemand
    /// The Redis names of every stream (hash-tagged on a Redis Cluster).
    let keyspace: RedisKeyspace
    /// Where the upstream connections go: the configured exchanges, or a simulator the caller started.
    public let endpoints: UpstreamEndpoints
    let hub: FanoutHub
    let gatewayStats = GatewayStats()
    let rejections = RejectionBook()
    let admission: ConnectionAdmission
    /// Refusals and connection states: their own path from the pools to the hub (`ControlRelay`).
    let controlRelay: ControlRelay
    let controlSink: ControlRelay.Sink
    let newStreamBudget: NewStreamBudget
    /// On-demand quotes wait on it for a stream's first event.
    let eventSignal: StreamEventSignal
    let access: AccessPolicy
    let metrics: NodeMetrics
    let sampler: StatsSampler
    let startedAt = ContinuousClock.now
    let logger: Logger
    /// This node's name (`NODE_ID`, else host and process id).
    public let nodeId: String

    public static func defaultNodeId() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "node"
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// Builds the node. `UPSTREAM=sim` needs the endpoints of a simulator the caller started (the `serve` command
    /// does); a node never runs on simulated prices by accident.
    public static func start(
        config: TickplexConfig, logger: Logger, endpoints: UpstreamEndpoints? = nil
    ) async throws -> TickplexNode {
        let endpoints = endpoints ?? .exchanges(config)
        guard (config.upstream == .sim) == endpoints.simulated else {
            throw ConfigError(
                variable: "UPSTREAM", value: config.upstream.rawValue,
                allowed: config.upstream == .sim
                    ? "sim only with a simulator started beside the node (tickplex serve starts one)"
                    : "exchange with the exchanges' endpoints, never a simulator's")
        }
        let node = TickplexNode(config: config, logger: logger, endpoints: endpoints)
        // A JWKS file that does not load stops start-up here, with its error.
        try await node.access.tokens?.ready.value
        if endpoints.simulated {
            // Warm a few streams so that data flows (bus, last values, logs) before the first client connects.
            for key in Self.simDemoStreams where config.role != .edge { _ = await node.demand.want(key) }
        }
        return node
    }

    static let simDemoStreams: [StreamKey] = [
        .ticker("BTCUSDT"), .ticker("ETHUSDT"), .ticker("BTCUSDT", .binanceSpot),
    ]

    public init(config: TickplexConfig, logger untagged: Logger, endpoints: UpstreamEndpoints? = nil) {
        let nodeId = config.nodeId ?? Self.defaultNodeId()
        self.nodeId = nodeId
        // Every line this node logs names it (several nodes share one log pipeline on Railway).
        var logger = untagged
        logger[metadataKey: "node"] = .string(nodeId)
        self.config = config
        self.logger = logger
        self.endpoints = endpoints ?? .exchanges(config)
        admission = ConnectionAdmission(
            limits: .init(
                maxConnections: config.maxConnections, maxPerIP: config.maxConnectionsPerIP,
                maxNewPerIPPerMinute: config.maxNewConnectionsPerIPPerMin))
        let newStreamBudget = NewStreamBudget(perMinute: config.maxNewStreamsPerClientPerMin)
        self.newStreamBudget = newStreamBudget
        let eventSignal = StreamEventSignal()
        self.eventSignal = eventSignal
        if let url = config.redisURL {
            let redisConfig = RedisConfiguration(
                url: url,
                connectTimeout: .milliseconds(config.redisConnectTimeoutMs),
                commandTimeout: .milliseconds(config.redisCommandTimeoutMs),
                tls: .init(caFile: config.redisTLSCAFile, verify: !config.redisTLSInsecure),
                cluster: config.redisCluster)
            let client = RedisClient(configuration: redisConfig, logger: logger)
            redis = client
            bus = RedisBus(client: client, logger: logger)
            store = RedisLastValueStore(client: client, ttl: .milliseconds(config.lastValueTTLMs))
            history = RedisCandleHistory(client: client, maxPerSeries: config.klineHistoryMax)
        } else {
            redis = nil
            bus = InProcessBus()
            store = InMemoryLastValueStore(ttl: .milliseconds(config.lastValueTTLMs))
            history = InMemoryCandleHistory(maxPerSeries: config.klineHistoryMax)
        }
        access = AccessPolicy(config: config, keySet: Self.redisKeySet(config: config, redis: redis))
        let metrics = NodeMetrics(maxPriceStreams: config.metricsMaxStreams)
        self.metrics = metrics
        let failures = PublishFailures(logger: logger)
        let fences = redis.map { _ in OwnershipFences() }
        let keyspace = RedisKeyspace(brand: config.brand, clustered: config.redisCluster)
        self.keyspace = keyspace
        let writer: any EventWriter =
            if let redis {
                // Redis: each event's commands pipelined, many events in flight (no round trip per command).
                // A fenced publish refused means another node holds the stream now: stop at once (the ownership's
                // next renewal finds the lease lost and unsubscribes).
                PipelinedRedisEventWriter(
                    client: redis, lastValueTTL: .milliseconds(config.lastValueTTLMs),
                    historyMax: config.klineHistoryMax, onFailure: { failures.record($0) },
                    onFenced: { channel in fences?.removeChannel(channel) })
            } else {
                DirectEventWriter(bus: bus, store: store, history: history)
            }
        let publisher = EventPublisher(
            brand: config.brand, logger: logger, writer: writer, failures: failures,
            priceObserver: { stream, price in metrics.recordPrice(stream: stream, price: price) }, signal: eventSignal,
            fences: fences, keyspace: keyspace)
        self.publisher = publisher
        let (controlNotices, controlSink) = ControlRelay.makeChannel()
        self.controlSink = controlSink
        let catalogue = InstrumentCatalogue()
        self.catalogue = catalogue
        let endpoints = self.endpoints
        catalogueService = CatalogueService(
            catalogue: catalogue,
            clients: .init(
                bybit: ExchangeRESTClient(
                    name: "bybit", baseURL: endpoints.bybitREST, budget: .bybit(), logger: logger),
                binanceSpot: ExchangeRESTClient(
                    name: "binance.spot", baseURL: endpoints.binanceSpotREST, budget: .binance(limit: 6000),
                    logger: logger),
                binanceUSDM: ExchangeRESTClient(
                    name: "binance.usdm", baseURL: endpoints.binanceUSDMREST, budget: .binance(limit: 2400),
                    logger: logger)),
            refresh: .seconds(config.catalogueRefreshSeconds),
            sharing: redis.map {
                Self.catalogueSharing(redis: $0, brand: config.brand, ttl: .seconds(2 * config.catalogueRefreshSeconds))
            },
            logger: logger)
        upstream = UpstreamPools(
            urls: self.endpoints.urls,
            linger: .seconds(config.upstreamLingerSeconds),
            budgets: UpstreamBudgets(
                limits: .init(
                    bybitAttemptsPer5Min: config.bybitConnectBudgetPer5Min,
                    binanceAttemptsPer5Min: config.binanceConnectBudgetPer5Min,
                    maxStreams: config.maxUpstreamStreams)),
            catalogue: catalogue,
            fetchDepth: { [clients = catalogueService.clients] venue, symbol in
                try await DepthSnapshot.fetch(venue, symbol: symbol, clients: clients)
            },
            logger: logger,
            onNotice: { notice in
                if case .event = notice { publisher.submit(notice) } else { controlSink.submit(notice) }
            })
        if let redis, let fences {
            let ownership = StreamOwnership(
                config: config, keyspace: keyspace, nodeId: nodeId, redis: redis, upstream: upstream, fences: fences,
                logger: logger)
            self.ownership = ownership
            demand = ownership
        } else {
            ownership = nil
            demand = LocalUpstreamDemand(upstream: upstream)
        }
        let hub = FanoutHub(
            brand: config.brand, bus: bus, store: store, upstream: upstream, refusals: rejections,
            stats: gatewayStats, latency: metrics.fanoutLatency,
            budget: newStreamBudget, demand: demand, keyspace: keyspace, nodeId: nodeId, logger: logger)
        self.hub = hub
        let (stats, rejections, ownership) = (gatewayStats, self.rejections, self.ownership)
        sampler = StatsSampler { (publisher.published, stats.messagesOut.value) }
        controlRelay = ControlRelay(notices: controlNotices, logger: logger) { notice in
            switch notice {
            case .rejected(let key, let reason):
                rejections.record(key, reason: reason)
                // A quote waiting for this stream's first event hears of the refusal at once.
                eventSignal.wake(key.streamName(brand: config.brand), with: nil)
                await hub.rejected(key, reason: reason)
                // In a cluster the other nodes' clients of the stream hear it through its channel.
                await ownership?.publishRejection(key, reason: reason)
            case .status(let venue, _, let state): await hub.status(venue: venue, state: state)
            case .event: break
            }
        }
    }

    /// `API_KEYS_REDIS_SET`: one round trip per check (both forms of the key, pipelined).
    static func redisKeySet(config: TickplexConfig, redis: RedisClient?) -> AccessPolicy.KeySetLookup? {
        guard let set = config.apiKeysRedisSet, let redis else { return nil }
        return { plain, hashed in
            guard
                let replies = try? await redis.send([
                    RedisCommand("SISMEMBER", .string(set), .string(plain)),
                    RedisCommand("SISMEMBER", .string(set), .string(hashed)),
                ])
            else { return nil }
            return replies.contains { if case .integer(1) = $0 { true } else { false } }
        }
    }

    /// Connected WebSocket clients.
    public var clientCount: Int { gatewayStats.clients.value }
    /// The catalogue in Redis, for the other nodes: `<brand>:catalogue:<venue>` = `{"loadedAt":…,"symbols":[…]}`,
    /// expiring after two refresh periods. A read or write that fails only means this node asks the exchange.
    static func catalogueSharing(redis: RedisClient, brand: String, ttl: Duration) -> CatalogueSharing {
        CatalogueSharing(
            read: { venue in
                // At start the catalogue is read before the Redis connection is up: wait a moment for it.
                try? await redis.waitUntilConnected(timeout: .seconds(3))
                guard
                    let text = try? await redis.send(
                        RedisCommand("GET", .string("\(brand):catalogue:\(venue.rawValue)"))
                    ).string,
                    let json = try? JSONParser.parse(text), let at = json["loadedAt"]?.int64,
                    let list = json["symbols"]?.array
                else { return nil }
                return (Set(list.compactMap(\.string)), at)
            },
            write: { venue, symbols, loadedAt in
                var w = JSONWriter()
                w.beginObject()
                w.key("loadedAt")
                w.int(loadedAt)
                w.key("symbols")
                w.beginArray()
                for symbol in symbols.sorted() { w.string(symbol) }
                w.endArray()
                w.endObject()
                _ = try? await redis.send(
                    RedisCommand(
                        "SET", .string("\(brand):catalogue:\(venue.rawValue)"), .string(w.text), "PX",
                        .integer(Int(ttl.milliseconds))))
            })
    }

    /// MAX_CLIENTS places held (freed when the socket closes).
    public var clientSlotsInUse: Int { admission.clientSlotsInUse }
    /// The gateway's counters since start.
    public var gatewayCounters: GatewayCounters { gatewayStats.snapshot }

    /// One line per dependency saying what this node is connected to.
    public var modeDescription: [String] {
        var lines: [String] = []
        if let url = config.redisURL {
            lines.append(
                config.redisCluster
                    ? "bus: redis cluster at \(url) (sharded pub/sub, names hash-tagged per stream); last values and candles in redis"
                    : "bus: redis pub/sub at \(url); last values and candles in redis")
            if url.tls {
                lines.append(
                    config.redisTLSInsecure
                        ? "WARNING: REDIS_TLS_INSECURE=true — the Redis server's certificate is NOT verified; "
                            + "anyone on the path can read and change what passes"
                        : "redis TLS: certificate verified against \(config.redisTLSCAFile ?? "the system's trust roots")"
                )
            }
        } else {
            lines.append("bus: in-process (no REDIS_URL set): single node, last values and candle history in memory")
        }
        switch config.upstream {
        case .sim:
            lines.append(
                "upstream: SIMULATOR at \(endpoints.simulatorBase ?? "?") (UPSTREAM=sim) — simulated prices, not real market data"
            )
            lines.append(
                "sim demo: \(Self.simDemoStreams.map(\.argument).joined(separator: ", ")) subscribed upstream so data flows at once"
            )
        case .exchange:
            lines.append(
                "upstream: exchanges — bybit \(config.bybitLinearURL), \(config.bybitSpotURL), "
                    + "\(config.bybitInverseURL); binance \(config.binanceSpotURL), \(config.binanceUSDMURL)")
        }
        lines.append(
            "clients: WebSocket /ws (at most \(config.maxClients)); health: /ready /health; auth: \(config.authMode.rawValue)"
        )
        if config.authMode == .none && !["127.0.0.1", "::1", "localhost"].contains(config.host) {
            lines.append(
                "WARNING: AUTH_MODE=none while listening on \(config.host): anyone who reaches this port can stream "
                    + "from it; set AUTH_MODE=apikey or jwt (README \"Security and limits\")")
        }
        return lines
    }

    var healthMonitor: HealthMonitor {
        HealthMonitor(
            config: config, redis: redis, subscriber: (bus as? RedisBus)?.subscriber, busKind: bus.kind,
            upstream: upstream, catalogue: catalogue, nodeId: nodeId, ownership: ownership)
    }

    /// The HTTP routes of the node.
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: AccessMiddleware(policy: access))
        HealthRoutes(health: healthMonitor).register(on: router)
        LivePage.register(on: router)
        OpenAPIDocument.register(on: router)
        guard config.role != .ingest else {
            // An ingest node serves no clients: only the operator's routes above and below.
            StatsRoutes(collect: { await self.stats() }).register(on: router)
            registerMetrics(on: router)
            return router
        }
        let quotes = QuoteRoutes(
            config: config, store: store, keyspace: keyspace, upstream: upstream, demand: demand,
            rejections: rejections,
            budget: newStreamBudget, signal: eventSignal)
        quotes.register(on: router)
        let upstream = self.upstream
        let klines = KlineRoutes(
            config: config, history: history, keyspace: keyspace,
            backfill: KlineBackfill(clients: catalogueService.clients),
            listing: { key in upstream.pool(for: key.venue)?.listingRefusal(key) }, logger: logger)
        klines.register(on: router)
        NativeRESTRoutes(klines: klines, quotes: quotes).register(on: router)
        StatsRoutes(collect: { await self.stats() }).register(on: router)
        registerMetrics(on: router)
        // An upgrade to /ws never reaches the router; a plain GET is told what the path wants.
        router.get("/ws") { _, _ in
            var response = JSONResponse.error(.upgradeRequired, "/ws is a WebSocket: send an upgrade request")
            response.headers[.upgrade] = "websocket"
            return response
        }
        return router
    }

    private func registerMetrics(on router: Router<BasicRequestContext>) {
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.scrape(await self.stats()))))
        }
    }

    /// This node's part in the cluster, for `/stats`.
    private func clusterStats() async -> NodeStats.Cluster? {
        guard let ownership else { return nil }
        let report = await ownership.report
        let owned = Set(report.owned)
        let served = await hub.streamKeys.map { $0.streamName(brand: config.brand) }.filter { !owned.contains($0) }
        return NodeStats.Cluster(
            role: report.role, leaseTtlMs: report.leaseTtlMs, owned: report.owned, served: served.sorted(),
            wantedInCluster: report.wantedInCluster, takeovers: report.takeovers, leasesLost: report.leasesLost,
            fencedEvents: publisher.fencedEvents, duplicatesDropped: await hub.duplicatesDropped)
    }

    /// The `/stats` document.
    func stats() async -> NodeStats {
        var upstreams: [String: NodeStats.Venue] = [:]
        for (venue, connections) in await upstream.states() {
            upstreams[venue.rawValue] = .init(
                connections: connections.map(HealthReport.UpstreamConnectionReport.init),
                live: connections.filter(\.live).count)
        }
        let counters = gatewayStats.snapshot
        let rates = sampler.rates
        var redisState: NodeStats.Redis?
        if let redis {
            let commands = await redis.status.name
            let subscriber = await (bus as? RedisBus)?.subscriber.status.name ?? "none"
            redisState = .init(commands: commands, subscriber: subscriber)
        }
        let rest = await catalogueService.restCounters()
        return NodeStats(
            version: TickplexVersion.string, nodeId: nodeId,
            uptimeSeconds: Int((ContinuousClock.now - startedAt).components.seconds),
            simulated: config.upstream == .sim, bus: bus.kind, clients: counters.clients,
            subscriptions: await hub.subscriptionCount, streams: await hub.streamCount,
            busChannels: await bus.channelCount,
            messages: .init(
                inPerSecond: (rates.inPerSecond * 10).rounded() / 10,
                outPerSecond: (rates.outPerSecond * 10).rounded() / 10,
                inTotal: publisher.published, outTotal: counters.messagesOut),
            conflated: counters.conflated, dropped: counters.dropped, slowConsumerCloses: counters.slowConsumerCloses,
            writeStallCloses: counters.writeStallCloses,
            publishFailures: publisher.failed, upstreams: upstreams, redis: redisState,
            limits: limitCounters(counters), rest: rest, cluster: await clusterStats())
    }

    private func limitCounters(_ counters: GatewayCounters) -> NodeStats.Limits {
        let budgets = upstream.budgets
        return NodeStats.Limits(
            openConnections: admission.openSockets,
            refusedConnections: Dictionary(
                uniqueKeysWithValues: admission.refused.withLock { $0 }.map { (String($0.key), $0.value) }),
            headTimeouts: admission.headTimeouts.load(ordering: .relaxed),
            newStreamRefusals: newStreamBudget.refused,
            upstreamStreams: budgets.streamCount,
            upstreamStreamRefusals: budgets.streamsRefused.load(ordering: .relaxed),
            upstreamConnectAttempts: budgets.attempts.load(ordering: .relaxed),
            upstreamConnectAttemptsDelayed: budgets.attemptsDelayed.load(ordering: .relaxed),
            upstreamConnectAttemptsLast5Min: budgets.attemptsInWindow(now: UpstreamPool.nowMs()),
            publisherInputDropped: publisher.dropped, busDropped: bus.dropped,
            controlNoticesDropped: controlSink.droppedCount)
    }

    /// HTTP/1 with the `/ws` upgrade, behind the connection gate.
    static func gatedServer(
        gateway: WebSocketGateway?, settings: GateSettings, idleTimeout: Duration, maxFrameSize: Int
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GatewayChildChannel(
                responder: responder, gateway: gateway, settings: settings, idleTimeout: idleTimeout,
                maxFrameSize: maxFrameSize)
        }
    }

    var gateSettings: GateSettings {
        GateSettings(
            admission: admission, policy: access, trustProxyHeaders: config.trustProxyHeaders,
            headTimeout: .milliseconds(Int64(config.httpHeadTimeoutMs)), maxClients: config.maxClients)
    }

    /// Every service of the node, in start order (shut down in reverse: HTTP first, Redis last).
    /// `onListening` receives the bound address (useful with `PORT=0`).
    public func makeServiceGroup(
        gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint],
        onListening: @escaping @Sendable (SocketAddress) async -> Void = { _ in }
    ) -> ServiceGroup {
        let logger = self.logger
        let gateway =
            config.role == .ingest
            ? nil : WebSocketGateway(hub: hub, config: config, stats: gatewayStats, access: access, logger: logger)
        let app = Application(
            router: makeRouter(),
            server: Self.gatedServer(
                gateway: gateway, settings: gateSettings, idleTimeout: .seconds(config.httpIdleTimeoutSeconds),
                maxFrameSize: config.maxClientFrameBytes),
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
        services.append(.init(service: publisher))
        services.append(.init(service: controlRelay))
        services.append(.init(service: BusListener(bus: bus, hub: hub)))
        // Before the pools: at shutdown the pools unsubscribe first, then the leases are given back.
        if let ownership { services.append(.init(service: ownership)) }
        services.append(.init(service: upstream))
        services.append(.init(service: catalogueService))
        services.append(.init(service: sampler))
        services.append(.init(service: app))
        services.append(.init(service: ClientCloser(hub: hub)))
        var groupConfig = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: gracefulShutdownSignals, cancellationSignals: [],
            logger: logger)
        // SHUTDOWN_GRACE_S bounds the drain: past it, whatever is left is cancelled.
        groupConfig.maximumGracefulShutdownDuration = .seconds(config.shutdownGraceSeconds)
        groupConfig.maximumCancellationDuration = .seconds(2)
        return ServiceGroup(configuration: groupConfig)
    }

    static func hostPort(_ address: SocketAddress) -> String {
        let ip = address.ipAddress ?? "?"
        let host = ip.contains(":") ? "[\(ip)]" : ip
        return "\(host):\(address.port ?? 0)"
    }
}
