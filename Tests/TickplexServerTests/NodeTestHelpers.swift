import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import TickplexConfig
import TickplexModel
import TickplexServer
import TickplexSimulator
import TickplexTestSupport
import TickplexUpstream

var quietLogger: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] == nil ? .critical : .debug
    return logger
}

/// Runs a whole node in this process on a free loopback port for the duration of `body`.
func withNode<T: Sendable>(
    _ env: [String: String] = [:], _ body: @Sendable (_ port: Int, _ node: TickplexNode) async throws -> T
) async throws -> T {
    var environment = TestNetwork.loopbackOnly(env)
    environment["HOST"] = "127.0.0.1"
    environment["PORT"] = "0"
    let config = try ConfigLoader.parse(environment)
    // As `tickplex serve` does: UPSTREAM=sim starts the simulator beside the node and hands its endpoints in.
    var sim: ExchangeSimulator?
    var endpoints = UpstreamEndpoints.exchanges(config)
    if config.upstream == .sim {
        let started = try await ExchangeSimulator.start(logger: quietLogger)
        sim = started
        endpoints = try #require(UpstreamEndpoints.simulator(base: started.baseURL))
    }
    let node = try await TickplexNode.start(config: config, logger: quietLogger, endpoints: endpoints)
    if let sim { TestSimulators.register(sim, for: node) }
    defer { TestSimulators.remove(node) }
    let port = Mutex<Int?>(nil)
    let group = node.makeServiceGroup(gracefulShutdownSignals: []) { address in
        port.withLock { $0 = address.port }
    }
    return try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        guard await eventually({ port.withLock { $0 } != nil }) else {
            throw TestSupportError(description: "node did not start listening")
        }
        let result = try await body(port.withLock { $0 }!, node)
        await group.triggerGracefulShutdown()
        for try await _ in tasks {}
        await sim?.stop()
        return result
    }
}

/// The simulator each test node runs against (the node itself only knows its endpoints).
enum TestSimulators {
    private static let table = Mutex<[ObjectIdentifier: ExchangeSimulator]>([:])
    static func register(_ sim: ExchangeSimulator, for node: TickplexNode) {
        table.withLock { $0[ObjectIdentifier(node)] = sim }
    }
    static func remove(_ node: TickplexNode) { _ = table.withLock { $0.removeValue(forKey: ObjectIdentifier(node)) } }
    static func of(_ node: TickplexNode) -> ExchangeSimulator? { table.withLock { $0[ObjectIdentifier(node)] } }
}

extension TickplexNode {
    /// The simulator this test node was started with (UPSTREAM=sim).
    var simulator: ExchangeSimulator? { TestSimulators.of(self) }
}

/// The two ways a node moves events from publisher to hub; gateway behaviour must hold in both.
enum BusMode: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inProcess = "in-process"
    case redis

    var testDescription: String { rawValue + " bus" }
}

/// Like `withNode`, on the given bus: `.redis` starts a real `redis-server` on a free loopback port for the test.
func withNode<T: Sendable>(
    bus: BusMode, _ env: [String: String] = [:],
    _ body: @Sendable (_ port: Int, _ node: TickplexNode) async throws -> T
) async throws -> T {
    switch bus {
    case .inProcess:
        return try await withNode(env, body)
    case .redis:
        let server = try await RedisServer.start()
        defer { server.stop() }
        var environment = env
        environment["REDIS_URL"] = server.url
        return try await withNode(environment, body)
    }
}

/// Every upstream URL at `sim`, for a node or binary started with `UPSTREAM=exchange`: nothing leaves loopback.
func upstreamEnv(at sim: ExchangeSimulator) -> [String: String] {
    let base = sim.baseURL
    return [
        "UPSTREAM": "exchange", "BYBIT_WS_URL_SPOT": base + "/v5/public/spot",
        "BYBIT_WS_URL_LINEAR": base + "/v5/public/linear", "BYBIT_WS_URL_INVERSE": base + "/v5/public/inverse",
        "BINANCE_WS_URL_SPOT": base, "BINANCE_WS_URL_USDM": base + "/usdm", "BYBIT_REST_URL": sim.restBaseURL,
        "BINANCE_REST_URL_SPOT": sim.restBaseURL, "BINANCE_REST_URL_USDM": sim.restBaseURL,
    ]
}

/// A symbol the catalogue lists but the exchange's WebSocket refuses (a listing the catalogue knows a moment before
/// the exchange's stream does): the exchange's own refusal is what reaches the client. Waits for the first load,
/// lists the symbol on the simulator's REST, and loads the catalogue again.
func listOnlyInCatalogue(_ symbol: String, on venue: Venue, node: TickplexNode) async throws {
    let sim = try #require(node.simulator)
    _ = await eventually { node.catalogue.snapshot[venue]?.loadedAt != nil }
    await sim.list(symbol, on: venue)
    await node.catalogueService.loadAll(fromExchange: true)
}

/// Every venue's catalogue has loaded at least once.
func catalogueLoaded(_ node: TickplexNode) -> Bool {
    Venue.allCases.allSatisfy { node.catalogue.snapshot[$0]?.loadedAt != nil }
}
