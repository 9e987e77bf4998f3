public import NIOCore
public import NIOPosix
import NIOSSL
import NIOTLS
import TickplexConfig
import TickplexModel

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
        let tls: NIOSSLContext?
        do {
            tls = configuration.url.tls ? try Self.tlsContext(configuration.tls) : nil
        } catch {
            throw .connectFailed(address: address, reason: "TLS setup: \(error)")
        }
        let host = configuration.url.host
        let handshake = eventLoop.makePromise(of: Void.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            // An IP literal is checked against the certificate's IP addresses, a name against its
                            // DNS names (SNI); NIOSSL does both with fullVerification.
                            let isIP = (try? SocketAddress(ipAddress: host, port: 0)) != nil
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : host))
                            try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher(handshake))
                        } else {
                            handshake.succeed()
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
                        try channel.pipeline.syncOperations.addHandler(
                            RedisChannelHandler(address: address, commandTimeout: commandTimeout, onPush: onPush))
                    }
                }
                .connect(host: configuration.url.host, port: configuration.url.port)
                .get()
        } catch let error as ChannelError {
            handshake.fail(error)
            if case .connectTimeout = error { throw .connectTimeout(address: address, milliseconds: timeoutMs) }
            throw .connectFailed(address: address, reason: "\(error)")
        } catch {
            handshake.fail(error)
            throw .connectFailed(address: address, reason: Self.describe(error))
        }
        // TLS: the certificate is checked before anything, the password included, is sent.
        do {
            try await handshake.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw .connectFailed(address: address, reason: "TLS handshake failed: \(error)")
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

    static func tlsContext(_ settings: RedisConfiguration.TLS) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile { tls.trustRoots = .file(caFile) }
        tls.certificateVerification = settings.verify ? .fullVerification : .none
        return try NIOSSLContext(configuration: tls)
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

/// Completes `promise` when the TLS handshake is done, or fails it with why it was not (a certificate that does not
/// verify, the socket closing), so that `connect` can say so instead of a later command failing for no stated reason.
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any
    private let promise: EventLoopPromise<Void>
    private var done = false

    init(_ promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            finish(nil)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    private func finish(_ error: (any Error)?) {
        guard !done else { return }
        done = true
        if let error { promise.fail(error) } else { promise.succeed() }
    }
}
