public import Logging
public import ServiceLifecycle
public import TickplexConfig
public import TickplexModel

/// One `UpstreamPool` per venue endpoint, built from configuration; a pool opens connections only once a stream
/// of its venue is wanted. Runs every pool as one service.
public final class UpstreamPools: Service, Sendable {
    public let pools: [Venue: UpstreamPool]
    /// Connection attempts and the stream cap, shared by every pool.
    public let budgets: UpstreamBudgets

    public init(
        urls: [Venue: WebSocketURL], linger: Duration, timing: UpstreamTiming = .init(),
        budgets: UpstreamBudgets = .init(), catalogue: InstrumentCatalogue? = nil,
        fetchDepth: (@Sendable (Venue, String) async throws -> DepthSnapshot)? = nil, logger: Logger,
        onNotice: @escaping @Sendable (UpstreamNotice) -> Void
    ) {
        var pools: [Venue: UpstreamPool] = [:]
        for (venue, url) in urls {
            pools[venue] = UpstreamPool(
                venue: venue, url: url, linger: linger, timing: timing, budgets: budgets, catalogue: catalogue,
                fetchDepth: fetchDepth, logger: logger, onNotice: onNotice)
        }
        self.pools = pools
        self.budgets = budgets
    }

    public func pool(for venue: Venue) -> UpstreamPool? { pools[venue] }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for pool in pools.values { group.addTask { try await pool.run() } }
            try await group.waitForAll()
        }
    }

    /// Per venue: its connections and whether each is live, for `/health` and `/stats`.
    public func states() async -> [Venue: [UpstreamPool.ConnectionState]] {
        var out: [Venue: [UpstreamPool.ConnectionState]] = [:]
        for (venue, pool) in pools { out[venue] = await pool.connectionStates() }
        return out
    }
}
