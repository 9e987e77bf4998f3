public import Logging
public import NIOCore
public import NIOPosix
public import ServiceLifecycle

/// A Redis command client that survives Redis restarts. Run it as a `Service`; commands issued while it is
/// disconnected fail at once with `RedisError.notConnected` (and the last error), never hang.
public final class RedisClient: Service, Sendable {
    /// One server, or (`configuration.cluster`) every master of a Redis Cluster.
    private let manager: RedisConnectionManager?
    let cluster: RedisClusterRouter?
    public let configuration: RedisConfiguration
    /// The event loop the connection lives on.
    public let eventLoop: any EventLoop

    public init(
        configuration: RedisConfiguration, logger: Logger = Logger(label: "tickplex.redis"),
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        if configuration.cluster {
            manager = nil
            cluster = RedisClusterRouter(seed: configuration, role: "commands", logger: logger, eventLoop: eventLoop)
        } else {
            manager = RedisConnectionManager(
                configuration: configuration, role: "commands", logger: logger, eventLoop: eventLoop)
            cluster = nil
        }
    }

    public func run() async throws {
        if let cluster { await cluster.run() } else { await manager?.run() }
    }

    public var status: RedisConnectionStatus {
        get async {
            if let cluster { return await cluster.status }
            return await manager?.status ?? .closed
        }
    }

    /// Pipelines the commands in one write; replies come back in order (error replies as `.error` values).
    public func send(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        return try await RedisConnection.await(enqueue(commands), address: configuration.address)
    }

    /// Writes the commands without waiting for their replies: calls made one after another (from one task) reach
    /// Redis in that order, so a caller can keep many batches in flight. The future fails with `RedisError`.
    public func enqueue(_ commands: [RedisCommand]) -> EventLoopFuture<[RESPValue]> {
        guard let manager else { return cluster!.enqueue(commands) }
        // Encode off the event loop; only the write itself runs there.
        var encoder = RedisCommandEncoder()
        var bytes = ByteBufferAllocator().buffer(capacity: commands.count * 64)
        for command in commands { encoder.encode(command, into: &bytes) }
        let payload = bytes
        let count = commands.count
        let name = commands.first?.name ?? "?"
        return manager.withConnection { $0.write(payload, replyCount: count, commandName: name) }
    }

    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await send([command])[0]
    }

    /// Sends one command and turns an error reply into `RedisError.server`.
    @discardableResult
    public func command(_ arguments: RedisArgument...) async throws(RedisError) -> RESPValue {
        let command = RedisCommand(arguments: arguments)
        let reply = try await send(command)
        if case .error(let message) = reply {
            throw .server(address: configuration.address, command: command.name, reply: message)
        }
        return reply
    }

    /// Round-trip time of one PING.
    public func ping() async throws(RedisError) -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        let reply = try await send(RedisCommand("PING"))
        guard reply == .simpleString("PONG") else {
            throw .unexpectedReply(address: configuration.address, command: "PING", reply: "\(reply)")
        }
        return clock.now - start
    }

    /// Waits until connected, or throws the last connection error after `timeout`.
    public func waitUntilConnected(timeout: Duration) async throws(RedisError) {
        if let manager { return try await manager.waitUntilConnected(timeout: timeout) }
        try await cluster?.waitUntilConnected(timeout: timeout)
    }
}

extension RedisConnectionManager {
    func waitUntilConnected(timeout: Duration) async throws(RedisError) {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let status = await status
            switch status {
            case .connected: return
            case .closed: throw .connectionClosed(address: configuration.address)
            case .reconnecting(_, let error) where clock.now >= deadline:
                throw .notConnected(address: configuration.address, lastError: error)
            case .connecting where clock.now >= deadline:
                throw .notConnected(address: configuration.address, lastError: nil)
            default:
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}
