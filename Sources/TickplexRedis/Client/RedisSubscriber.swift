public import Logging
public import NIOCore
public import NIOPosix
public import ServiceLifecycle

/// A dedicated pub/sub connection. It remembers every channel it was asked for and subscribes them again
/// after each reconnect. Messages go to `onMessage` on the connection's event loop, in arrival order; the
/// payload `ByteBuffer` is shared by whoever keeps it (no copy per consumer).
public final class RedisSubscriber: Service, Sendable {
    private let manager: RedisConnectionManager

    public init(
        configuration: RedisConfiguration, logger: Logger = Logger(label: "tickplex.redis.subscriber"),
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
        onMessage: @escaping @Sendable (RedisPubSubMessage) -> Void
    ) {
        manager = RedisConnectionManager(
            configuration: configuration, role: "subscriber", logger: logger, eventLoop: eventLoop,
            onPush: onMessage)
    }

    public var configuration: RedisConfiguration { manager.configuration }

    public func run() async throws {
        await manager.run()
    }

    public var status: RedisConnectionStatus {
        get async { await manager.status }
    }

    /// The channels this subscriber keeps subscribed (whether or not it is connected right now).
    public var channels: Set<String> {
        get async { (try? await manager.eventLoop.submit { self.manager.state.value.channels }.get()) ?? [] }
    }

    /// Adds channels. When connected, returns once Redis confirmed them; when not, they are subscribed on the
    /// next connection and this returns at once.
    public func subscribe(_ channels: [String]) async throws(RedisError) {
        try await change(channels, verb: "SUBSCRIBE") { state, channel in state.channels.insert(channel).inserted }
    }

    public func unsubscribe(_ channels: [String]) async throws(RedisError) {
        try await change(channels, verb: "UNSUBSCRIBE") { state, channel in state.channels.remove(channel) != nil }
    }

    private func change(
        _ channels: [String], verb: String,
        _ apply: @escaping @Sendable (inout RedisConnectionManager.State, String) -> Bool
    ) async throws(RedisError) {
        guard !channels.isEmpty else { return }
        let manager = self.manager
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
        let future = manager.withConnection { $0.write([RedisCommand("PING")]) }
        _ = try await RedisConnection.await(future, address: configuration.address)
        return clock.now - start
    }

    public func waitUntilConnected(timeout: Duration) async throws(RedisError) {
        try await manager.waitUntilConnected(timeout: timeout)
    }
}
