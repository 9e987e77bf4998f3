public import Logging
public import NIOCore
public import NIOPosix
public import ServiceLifecycle

/// A dedicated pub/sub connection. It remembers every channel it was asked for and subscribes them again
/// after each reconnect. Messages go to `onMessage` on the connection's event loop, in arrival order; the
/// payload `ByteBuffer` is shared by whoever keeps it (no copy per consumer).
public final class RedisSubscriber: Service, Sendable {
    private let single: RedisConnectionManager?
    /// Redis Cluster: one sharded subscriber connection per master, each channel on its slot's master.
    private let cluster: RedisClusterRouter?
    public let configuration: RedisConfiguration

    /// `commands`: the node's command client, which knows a cluster's slot map (subscriber connections cannot ask).
    public init(
        configuration: RedisConfiguration, logger: Logger = Logger(label: "tickplex.redis.subscriber"),
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(), commands: RedisClient? = nil,
        onMessage: @escaping @Sendable (RedisPubSubMessage) -> Void
    ) {
        self.configuration = configuration
        if configuration.cluster, let router = commands?.cluster {
            single = nil
            cluster = RedisClusterRouter(
                seed: configuration, role: "subscriber", logger: logger, eventLoop: eventLoop, onPush: onMessage,
                mapSource: { await router.map })
        } else {
            single = RedisConnectionManager(
                configuration: configuration, role: "subscriber", logger: logger, eventLoop: eventLoop,
                onPush: onMessage)
            cluster = nil
        }
    }

    public func run() async throws {
        if let cluster { await cluster.run() } else { await single?.run() }
    }

    public var status: RedisConnectionStatus {
        get async {
            if let cluster { return await cluster.status }
            return await single?.status ?? .closed
        }
    }

    /// The channels this subscriber keeps subscribed (whether or not it is connected right now).
    public var channels: Set<String> {
        get async {
            if let cluster { return await cluster.channels }
            guard let manager = single else { return [] }
            return (try? await manager.eventLoop.submit { manager.state.value.channels }.get()) ?? []
        }
    }

    /// Adds channels. When connected, returns once Redis confirmed them; when not, they are subscribed on the
    /// next connection and this returns at once.
    public func subscribe(_ channels: [String]) async throws(RedisError) {
        if let cluster {
            return try await RedisConnection.await(cluster.subscribe(channels), address: configuration.address)
        }
        try await change(channels, verb: "SUBSCRIBE") { state, channel in state.channels.insert(channel).inserted }
    }

    public func unsubscribe(_ channels: [String]) async throws(RedisError) {
        if let cluster {
            return try await RedisConnection.await(cluster.unsubscribe(channels), address: configuration.address)
        }
        try await change(channels, verb: "UNSUBSCRIBE") { state, channel in state.channels.remove(channel) != nil }
    }

    private func change(
        _ channels: [String], verb: String,
        _ apply: @escaping @Sendable (inout RedisConnectionManager.State, String) -> Bool
    ) async throws(RedisError) {
        guard !channels.isEmpty, let manager = single else { return }
        let future: EventLoopFuture<Void> = manager.eventLoop.flatSubmit {
            var changed: [String] = []
            for channel in channels where apply(&manager.state.value, channel) { changed.append(channel) }
            guard !changed.isEmpty, let connection = manager.state.value.connection else {
                return manager.eventLoop.makeSucceededVoidFuture()
            }
            return manager.chunked(changed, verb: verb, on: connection)
        }
        do {
            try await future.get()
        } catch let error as RedisError {
            // The wanted set is already updated; the next connection applies it.
            manager.logger.warning("\(verb) not confirmed: \(error); it is applied on reconnect")
            throw error
        } catch {
            throw .connectionClosed(address: configuration.address)
        }
    }

    /// Round-trip time of a PING on the subscriber connection (valid in subscribe mode).
    public func ping() async throws(RedisError) -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        let future: EventLoopFuture<[RESPValue]>
        if let cluster {
            // Every master's subscriber connection answers, or the PING fails.
            guard let managers = await cluster.currentManagers, !managers.isEmpty else {
                throw .notConnected(address: configuration.address, lastError: "the cluster's slot map is not loaded")
            }
            future = EventLoopFuture.whenAllSucceed(
                managers.map { $0.withConnection { $0.write([RedisCommand("PING")]) } }, on: cluster.eventLoop
            ).map { $0.first ?? [] }
        } else if let single {
            future = single.withConnection { $0.write([RedisCommand("PING")]) }
        } else {
            throw .connectionClosed(address: configuration.address)
        }
        _ = try await RedisConnection.await(future, address: configuration.address)
        return clock.now - start
    }

    public func waitUntilConnected(timeout: Duration) async throws(RedisError) {
        if let single { return try await single.waitUntilConnected(timeout: timeout) }
        try await cluster?.waitUntilConnected(timeout: timeout)
    }
}
