import NIOCore
import NIOPosix
import TickplexCore

/// One TCP connection to Redis, ready to use: AUTH and SELECT done. Commands pipeline freely; replies come
/// back in order. Use `RedisClient` or `RedisSubscriber` for connections that survive a Redis restart.
public final class RedisConnection: Sendable {
    public let channel: any Channel
    public let configuration: RedisConfiguration

    private init(channel: any Channel, configuration: RedisConfiguration) {
        self.channel = channel
        self.configuration = configuration
    }

    /// Connects, authenticates and selects the database. `onPush` receives pub/sub messages (subscriber use).
    public static func connect(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
        onPush: (@Sendable (RedisPubSubMessage) -> Void)? = nil
    ) async throws(RedisError) -> RedisConnection {
        let address = configuration.address
        let timeoutMs = configuration.connectTimeout.milliseconds
        let commandTimeout = TimeAmount(configuration.commandTimeout)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
                        try channel.pipeline.syncOperations.addHandler(
                            RedisChannelHandler(address: address, commandTimeout: commandTimeout, onPush: onPush))
                    }
                }
                .connect(host: configuration.url.host, port: configuration.url.port)
                .get()
        } catch let error as ChannelError {
            if case .connectTimeout = error { throw .connectTimeout(address: address, milliseconds: timeoutMs) }
            throw .connectFailed(address: address, reason: "\(error)")
        } catch {
            throw .connectFailed(address: address, reason: Self.describe(error))
        }
        let connection = RedisConnection(channel: channel, configuration: configuration)
        do {
            try await connection.handshake()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return connection
    }

    private func handshake() async throws(RedisError) {
        let url = configuration.url
        if let password = url.password {
            let auth: RedisCommand =
                if let user = url.username {
                    RedisCommand("AUTH", .string(user), .string(password))
                } else {
                    RedisCommand("AUTH", .string(password))
                }
            let reply = try await send(auth)
            if case .error(let message) = reply {
                throw .authFailed(address: configuration.address, reply: message)
            }
        }
        if url.database != 0 {
            let reply = try await send(RedisCommand("SELECT", .integer(url.database)))
            if case .error(let message) = reply {
                throw .selectFailed(address: configuration.address, database: url.database, reply: message)
            }
        }
    }

    /// Sends the commands as one pipelined write and returns their replies in order. Error replies are
    /// returned as `.error` values, not thrown, so that one failed command does not hide the others' results.
    public func send(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        return try await Self.await(write(commands), address: configuration.address)
    }

    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await send([command])[0]
    }

    /// Writes the commands from any thread; the future completes with their replies.
    /// `replyCount` defaults to one reply per command; SUBSCRIBE of n channels answers n times.
    func write(_ commands: [RedisCommand], replyCount: Int? = nil) -> EventLoopFuture<[RESPValue]> {
        var encoder = RedisCommandEncoder()
        var bytes = channel.allocator.buffer(capacity: commands.count * 64)
        for command in commands { encoder.encode(command, into: &bytes) }
        return write(bytes, replyCount: replyCount ?? commands.count, commandName: commands.first?.name ?? "?")
    }

    func write(_ bytes: ByteBuffer, replyCount: Int, commandName: String) -> EventLoopFuture<[RESPValue]> {
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        let request = RedisRequest(bytes: bytes, replyCount: replyCount, commandName: commandName, promise: promise)
        channel.writeAndFlush(request).whenFailure { promise.fail($0) }
        return promise.futureResult
    }

    public func close() async {
        try? await channel.close()
    }

    static func await<T: Sendable>(_ future: EventLoopFuture<T>, address: String) async throws(RedisError) -> T {
        do {
            return try await future.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw .connectionClosed(address: address)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? IOError { return e.description }
        if let e = error as? NIOConnectionError {
            let reasons = (e.connectionErrors.map { "\($0.target): \($0.error)" })
            if let dns = e.dnsAAAAError ?? e.dnsAError { return "cannot resolve \(e.host): \(dns)" }
            return reasons.isEmpty ? "\(e)" : reasons.joined(separator: "; ")
        }
        return "\(error)"
    }
}
