import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization
public import TickplexModel
import TickplexVenues

/// The built-in exchange simulator: a WebSocket server on loopback that speaks Bybit V5 public
/// (`/v5/public/{spot,linear,inverse}`) and Binance spot and USD-M market streams (`/ws/<stream>`,
/// `/stream?streams=a/b`, `/usdm/...` for USD-M, live SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS), with a
/// deterministic random-walk market and faults on command.
///
/// All state lives on one event loop: the market, every connection and the fault switches.
public final class ExchangeSimulator: Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        /// 0 = any free port.
        public var port = 0
        public var seed: UInt64 = 42
        public var prices = SimMarket.defaultPrices
        /// Data frames per second per subscribed topic (0: only the first frame on subscribe).
        public var framesPerSecond = 10
        /// Each topic at its own phase within the frame period (like independent exchange feeds), instead of every
        /// topic of a connection in the same tick: the benchmarks' many-stream workloads, so writes are not batched
        /// by the simulator's clock.
        public var randomPhase = false
        /// Binance server ping period (SIM_PING_S).
        public var pingSeconds: Double = 20
        /// Binance closes a connection whose pong to a ping has not come within this (1 minute on the exchange).
        public var pongTimeoutSeconds: Double = 60
        /// Binance closes every connection when it is this old (24 hours on the real exchange); nil: never.
        public var binanceConnectionLifetimeSeconds: Double?
        /// Kline frames per candle before it closes.
        public var framesPerCandle = 5
        /// The REST endpoints' limits (Binance weight per minute, Bybit requests per 5 s).
        public var restLimits = SimREST.Limits()
        /// Recorded Bybit frames to replay, by topic (looped), instead of generated data for those topics.
        public var replay: [String: [String]] = [:]
        public init() {}

        /// Loads a recorded JSONL file (one Bybit frame per line) for replay; returns the topics it covers.
        @discardableResult
        public mutating func loadReplay(contentsOf path: String) throws -> [String] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            for line in text.split(separator: "\n") {
                guard let topic = (try? JSONParser.parse(String(line)))?["topic"]?.string else { continue }
                replay[topic, default: []].append(String(line))
            }
            return replay.keys.sorted()
        }
    }

    struct State {
        var market: SimMarket
        var connections: [Int: SimConnection] = [:]
        var nextId = 1
        var refuseUntil: NIODeadline?
        var history: [Int: SimConnectionInfo] = [:]
        var replayPosition: [String: Int] = [:]
        var rest: SimREST
        /// Binance streams as the exchange has them: one tape per stream, the same frames for every connection
        /// that carries it (trade ids, update ids and prices agree across connections), generated at the frame
        /// rate however many connections read it.
        var binanceTapes: [String: BinanceTape] = [:]
        var binanceFeeds: [Bool: BinanceSimFeed] = [
            false: BinanceSimFeed(usdm: false), true: BinanceSimFeed(usdm: true),
        ]
        /// No new Binance frames while frozen.
        var binanceFrozen = false
    }

    public let configuration: Configuration
    let eventLoop: any EventLoop
    let state: NIOLoopBoundBox<State>
    private let channel: any Channel
    let logger: Logger

    public var port: Int { channel.localAddress?.port ?? 0 }

    /// `ws://127.0.0.1:<port>` — append the venue path.
    public var baseURL: String { "ws://\(configuration.host):\(port)" }
    /// The same port for REST: `http://host:port`.
    public var restBaseURL: String { "http://\(configuration.host):\(port)" }

    /// Answers a REST GET (nil: not a REST path).
    func rest(path: String, query: [String: String]) async -> SimREST.Response? {
        let now = SimConnection.now()
        return await onLoop { sim in
            var depthBody: String?
            if path == "/api/v3/depth" || path == "/fapi/v1/depth", let symbol = query["symbol"] {
                let usdm = path.hasPrefix("/fapi")
                let limit = min(max(Int(query["limit"] ?? "") ?? 100, 1), usdm ? 1000 : 5000)
                var feed = sim.state.value.binanceFeeds[usdm] ?? BinanceSimFeed(usdm: usdm)
                depthBody = feed.depthSnapshot(symbol: symbol, limit: limit, market: &sim.state.value.market, now: now)
                sim.state.value.binanceFeeds[usdm] = feed
            }
            return sim.state.value.rest.handle(path: path, query: query, now: now, depthBody: depthBody)
        }
    }

    /// The next Binance diff-depth update of every symbol skips one update id (a gap the proxy must detect).
    public func skipBinanceUpdateId() async {
        await onLoop { sim in
            for usdm in [false, true] { sim.state.value.binanceFeeds[usdm]?.skipNextUpdateId = true }
        }
    }

    /// A symbol's whole Binance book as the simulated exchange has it, once its diff stream has started.
    public func binanceBook(_ symbol: String, usdm: Bool) async -> (
        lastUpdateId: Int64, bids: [(String, String)], asks: [(String, String)]
    )? {
        await onLoop { sim in
            let decimals = sim.state.value.market.instruments[symbol]?.decimals ?? 2
            return sim.state.value.binanceFeeds[usdm]?.bookLevels(symbol: symbol, decimals: decimals)
        }
    }

    /// Stops the Binance streams from moving (frames already generated are still delivered): a still point at which
    /// a proxy's book can be compared with the exchange's.
    public func freezeBinance(_ frozen: Bool) async {
        await onLoop { $0.state.value.binanceFrozen = frozen }
    }

    /// What the REST endpoints saw.
    public func restCounters() async -> SimREST.Counters { await onLoop { $0.state.value.rest.counters } }

    /// Lists a symbol on a venue's catalogue (a new listing), or changes its status.
    public func list(_ symbol: String, on venue: Venue, status: String? = nil) async {
        await onLoop { $0.state.value.rest.list(symbol, on: venue, status: status) }
    }

    /// Changes the REST limits (a test drives the proxy into a 429).
    public func setRESTLimits(_ limits: SimREST.Limits) async {
        await onLoop { $0.state.value.rest.limits = limits }
    }

    public static func start(_ configuration: Configuration = .init(), logger: Logger = Logger(label: "tickplex.sim"))
        async throws -> ExchangeSimulator
    {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let state = NIOLoopBoundBox.makeBoxSendingValue(
            State(
                market: SimMarket(seed: configuration.seed, prices: configuration.prices),
                rest: SimREST(
                    symbols: Set(configuration.prices.keys), limits: configuration.restLimits,
                    prices: configuration.prices)),
            eventLoop: eventLoop)
        let holder = SimulatorReference()
        let channel = try await ServerBootstrap(group: eventLoop, childGroup: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let upgrader = NIOWebSocketServerUpgrader(
                    maxFrameSize: 1 << 24,
                    shouldUpgrade: { channel, head in
                        guard let sim = holder.simulator else { return channel.eventLoop.makeSucceededFuture(nil) }
                        return channel.eventLoop.makeSucceededFuture(sim.shouldUpgrade(head) ? HTTPHeaders() : nil)
                    },
                    upgradePipelineHandler: { channel, head in
                        guard let sim = holder.simulator else { return channel.close() }
                        return channel.eventLoop.makeCompletedFuture {
                            let connection = sim.makeConnection(path: head.uri, channel: channel)
                            try channel.pipeline.syncOperations.addHandler(connection)
                        }
                    })
                guard let sim = holder.simulator else { return channel.close() }
                return channel.pipeline.configureHTTPServerPipeline(
                    withServerUpgrade: (
                        upgraders: [upgrader],
                        completionHandler: { context in
                            // After the upgrade the control handler would see WebSocket frames: take it out.
                            context.pipeline.removeHandler(name: SimControlHandler.name, promise: nil)
                        }
                    )
                ).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(
                        SimControlHandler(simulator: sim), name: SimControlHandler.name)
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        let sim = ExchangeSimulator(
            configuration: configuration, eventLoop: eventLoop, state: state, channel: channel, logger: logger)
        holder.simulator = sim
        return sim
    }

    private init(
        configuration: Configuration, eventLoop: any EventLoop, state: NIOLoopBoundBox<State>, channel: any Channel,
        logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.state = state
        self.channel = channel
        self.logger = logger
    }

    public func stop() async {
        try? await channel.close()
        await dropAll()
    }

    // MARK: - Routing

    enum Endpoint {
        case bybit(BybitSimSession.Category)
        case binance(usdm: Bool, combined: Bool, streams: [String])
    }

    static func endpoint(for uri: String) -> Endpoint? {
        let (path, query) = uri.split(separator: "?", maxSplits: 1).map(String.init).splitPair()
        switch path {
        case "/v5/public/spot": return .bybit(.spot)
        case "/v5/public/linear": return .bybit(.linear)
        case "/v5/public/inverse": return .bybit(.inverse)
        default: break
        }
        var rest = Substring(path)
        var usdm = false
        for prefix in ["/usdm/public", "/usdm/market", "/usdm", "/public", "/market"] where rest.hasPrefix(prefix + "/")
        {
            usdm = prefix.hasPrefix("/usdm") || prefix == "/public" || prefix == "/market"
            rest = rest.dropFirst(prefix.count)
            break
        }
        if rest == "/ws" { return .binance(usdm: usdm, combined: false, streams: []) }
        if rest.hasPrefix("/ws/") {
            let streams = rest.dropFirst(4).split(separator: "/").map(String.init)
            return .binance(usdm: usdm, combined: false, streams: streams)
        }
        if rest == "/stream" {
            let streams =
                query.flatMap { q -> [String]? in
                    guard let value = q.split(separator: "&").first(where: { $0.hasPrefix("streams=") }) else {
                        return nil
                    }
                    return value.dropFirst("streams=".count).split(separator: "/").map(String.init)
                } ?? []
            return .binance(usdm: usdm, combined: true, streams: streams)
        }
        return nil
    }

    /// Runs on the loop: refuse while the "refuse connections" fault is on, or for unknown paths.
    func shouldUpgrade(_ head: HTTPRequestHead) -> Bool {
        if let until = state.value.refuseUntil, until > .now() { return false }
        guard let endpoint = Self.endpoint(for: head.uri) else { return false }
        if case .binance(_, _, let streams) = endpoint, streams.count > BinanceAdapter.maxStreamsPerConnection {
            return false
        }
        return true
    }

    func makeConnection(path: String, channel: any Channel) -> SimConnection {
        let id = state.value.nextId
        state.value.nextId += 1
        let connection = SimConnection(id: id, path: path, endpoint: Self.endpoint(for: path)!, simulator: self)
        state.value.connections[id] = connection
        return connection
    }

    func closed(_ connection: SimConnection) {
        state.value.connections[connection.id] = nil
        state.value.history[connection.id] = connection.info
    }

    // MARK: - Control API (faults and reports)

    private func onLoop<T: Sendable>(_ body: @escaping @Sendable (ExchangeSimulator) -> T) async -> T {
        try! await eventLoop.submit { body(self) }.get()
    }

    /// Every connection ever accepted (open ones first, by id).
    public func connections() async -> [SimConnectionInfo] {
        await onLoop { sim in
            let open = sim.state.value.connections.values.map(\.info)
            let closed = sim.state.value.history.values
            return (open + closed).sorted { $0.id < $1.id }
        }
    }

    public func openConnections() async -> [SimConnectionInfo] {
        await connections().filter(\.open)
    }

    /// Closes every connection (TCP close, no close frame): what a network cut looks like.
    public func dropAll() async {
        await forEachConnection { c in c.drop() }
    }

    /// Keeps TCP open but stops sending data and answering pings, on every open connection.
    public func stall() async {
        await forEachConnection { c in c.stalled = true }
    }

    /// Sends one malformed frame on every open connection.
    public func sendMalformedFrame() async {
        await forEachConnection { c in c.sendText(#"{"topic":"tickers."#) }
    }

    /// Sends a message of `count` empty fragments that never finishes, on every open connection.
    public func sendFragmentFlood(count: Int = 100_000) async {
        await forEachConnection { c in c.sendFragmentFlood(count: count) }
    }

    /// A burst: `frames` extra data frames of every subscribed topic, spread evenly over `seconds`, on every open
    /// connection (the benchmark's W4).
    public func burst(frames: Int, seconds: Double) async {
        await forEachConnection { c in c.burst(frames: frames, seconds: seconds) }
    }

    /// Symbols `<prefix>001USDT`… with starting prices, for workloads over many streams.
    public static func syntheticPrices(_ count: Int, prefix: String = "T") -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: (1...max(count, 1)).map { i in
                (prefix + String(format: "%03d", i) + "USDT", "\(100 + i).\(String(format: "%02d", i % 100))")
            })
    }

    /// The next frame of every subscribed topic is a fresh snapshot.
    public func sendFreshSnapshot() async {
        await forEachConnection { c in c.freshSnapshot() }
    }

    /// The next order-book delta of every subscribed book topic skips one update id.
    public func skipUpdateId() async {
        await forEachConnection { c in c.skipUpdateId() }
    }

    /// Refuses new connections (upgrade answered 403) for `duration`.
    public func refuseConnections(for duration: Duration) async {
        await onLoop { sim in
            sim.state.value.refuseUntil = .now() + TimeAmount(duration)
        }
    }

    /// Runs `body` on the loop for every open connection.
    private func forEachConnection(_ body: @escaping @Sendable (SimConnection) -> Void) async {
        await onLoop { sim in
            for connection in sim.state.value.connections.values { body(connection) }
        }
    }

    func nextFrame(bybit topic: String, feed: inout BybitSimFeed, now: Int64) -> String? {
        if let frames = configuration.replay[topic], !frames.isEmpty {
            let n = state.value.replayPosition[topic, default: 0]
            state.value.replayPosition[topic] = n + 1
            return frames[n % frames.count]
        }
        return feed.frame(for: topic, market: &state.value.market, now: now)
    }

    /// On the loop: the frames of a Binance stream after `cursor` (a new reader gets the newest one), generating the
    /// next frame when one frame period has passed since the last.
    func binanceFrames(_ stream: String, usdm: Bool, after cursor: Int64?, now: Int64) -> (
        frames: [String], cursor: Int64?
    ) {
        let key = (usdm ? "usdm|" : "spot|") + stream
        var tape = state.value.binanceTapes[key] ?? BinanceTape()
        let periodMs = Int64(1000 / max(configuration.framesPerSecond, 1))
        if !state.value.binanceFrozen, tape.entries.last.map({ now - $0.at >= periodMs - periodMs / 4 }) ?? true {
            var feed = state.value.binanceFeeds[usdm] ?? BinanceSimFeed(usdm: usdm)
            if let payload = feed.payload(for: stream, market: &state.value.market, now: now) {
                tape.append(payload, at: now)
            }
            state.value.binanceFeeds[usdm] = feed
        }
        state.value.binanceTapes[key] = tape
        guard let last = tape.entries.last else { return ([], cursor) }
        guard let cursor else { return ([last.payload], last.seq) }
        return (tape.entries.filter { $0.seq > cursor }.map(\.payload), last.seq)
    }

    var symbols: Set<String> {
        state.value.market.symbols.union(configuration.replay.keys.compactMap { BybitTopics.parse(topic: $0)?.symbol })
    }

    /// On the loop: whether the "refuse connections" fault is on.
    var isRefusing: Bool {
        guard let until = state.value.refuseUntil else { return false }
        return until > .now()
    }
}

/// Lets the bootstrap's initializers reach the simulator created after the bind (a connection that arrives in
/// between is refused).
private final class SimulatorReference: Sendable {
    private let value = Mutex<ExchangeSimulator?>(nil)
    var simulator: ExchangeSimulator? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

extension Array where Element == String {
    fileprivate func splitPair() -> (String, String?) { (self.first ?? "", self.count > 1 ? self[1] : nil) }
}

/// One Binance stream's recent frames, numbered (bounded: a reader more than 64 frames behind skips ahead).
struct BinanceTape {
    struct Entry {
        var seq: Int64
        var at: Int64
        var payload: String
    }
    var entries: [Entry] = []
    var nextSeq: Int64 = 1

    mutating func append(_ payload: String, at: Int64) {
        entries.append(Entry(seq: nextSeq, at: at, payload: payload))
        nextSeq += 1
        if entries.count > 64 { entries.removeFirst(entries.count - 64) }
    }
}
