import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TickplexModel

/// Keeps one Redis connection alive: connects, pings while idle, reconnects with backoff when it is lost.
///
/// All mutable state (current connection, status, subscribed channels) lives on one event loop — the same loop
/// as the connection's channel — so a command costs one hop onto that loop and no lock.
final class RedisConnectionManager: Sendable {
    struct State {
        var connection: RedisConnection?
        var status = RedisConnectionStatus.connecting
        var lastError: String?
        /// Subscriber mode only: every channel the owner wants, re-subscribed on each new connection.
        var channels = Set<String>()
    }

    let configuration: RedisConfiguration
    let eventLoop: any EventLoop
    let logger: Logger
    let role: String
    private let onPush: (@Sendable (RedisPubSubMessage) -> Void)?
    /// Sharded pub/sub (Redis Cluster): `SSUBSCRIBE`/`SUNSUBSCRIBE`, one channel per command (a command's channels
    /// must share a slot).
    let sharded: Bool
    let state: NIOLoopBoundBox<State>

    init(
        configuration: RedisConfiguration, role: String, logger: Logger,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
        onPush: (@Sendable (RedisPubSubMessage) -> Void)? = nil, sharded: Bool = false
    ) {
        self.sharded = sharded
        self.configuration = configuration
        self.role = role
        self.logger = logger
        self.eventLoop = eventLoop
        self.onPush = onPush
        self.state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    var status: RedisConnectionStatus {
        get async {
            (try? await eventLoop.submit { self.state.value.status }.get()) ?? .closed
        }
    }

    /// Runs until graceful shutdown or cancellation.
    func run() async {
        var attempt = 0
        var outageStart: Date?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let connection = try await RedisConnection.connect(
                    configuration: configuration, eventLoop: eventLoop, onPush: onPush)
                try await install(connection)
                attempt = 0
                if outageStart != nil {
                    logger.info("redis \(role) reconnected", metadata: ["redis": "\(configuration.url)"])
                } else {
                    logger.info("redis \(role) connected", metadata: ["redis": "\(configuration.url)"])
                }
                outageStart = nil
                // Graceful shutdown and cancellation both end the connection; waiting on a future alone would not.
                await withTaskCancellationHandler {
                    await withGracefulShutdownHandler {
                        await supervise(connection)
                    } onGracefulShutdown: {
                        connection.channel.close(promise: nil)
                    }
                } onCancel: {
                    connection.channel.close(promise: nil)
                }
                let since = Date()
                outageStart = since
                try? await eventLoop.submit {
                    self.state.value.connection = nil
                    self.state.value.status = .reconnecting(since: since, lastError: "connection lost")
                    self.state.value.lastError = "connection lost"
                }.get()
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                logger.warning(
                    "redis \(role) connection lost; reconnecting", metadata: ["redis": "\(configuration.url)"])
            } catch {
                let since = outageStart ?? Date()
                outageStart = since
                let message = "\(error)"
                try? await eventLoop.submit {
                    self.state.value.status = .reconnecting(since: since, lastError: message)
                    self.state.value.lastError = message
                }.get()
                logger.warning("\(message); retrying", metadata: ["role": "\(role)"])
            }
            attempt += 1
            let delay = configuration.reconnectBackoff.delay(attempt: attempt)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
        }
        let connection = try? await eventLoop.submit {
            self.state.value.status = .closed
            defer { self.state.value.connection = nil }
            return self.state.value.connection
        }.get()
        await connection?.close()
    }

    /// Makes `connection` current. In subscriber mode it subscribes every wanted channel in the same loop tick,
    /// so that a `subscribe` racing with the reconnect is never lost.
    private func install(_ connection: RedisConnection) async throws {
        let ready: EventLoopFuture<Void> = eventLoop.flatSubmit {
            self.state.value.connection = connection
            let channels = Array(self.state.value.channels)
            guard !channels.isEmpty else { return self.eventLoop.makeSucceededVoidFuture() }
            return self.subscribeFuture(channels, on: connection)
        }
        do {
            try await ready.get()
        } catch {
            connection.channel.close(promise: nil)
            try? await eventLoop.submit { self.state.value.connection = nil }.get()
            throw error
        }
        try await eventLoop.submit {
            self.state.value.status = .connected(since: Date())
            self.state.value.lastError = nil
        }.get()
    }

    /// Waits for the connection to close, sending PING when idle so that a silent server is detected.
    private func supervise(_ connection: RedisConnection) async {
        let interval = configuration.keepAliveInterval
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await connection.channel.closeFuture.get() }
            group.addTask {
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: interval)
                        _ = try await connection.send(RedisCommand("PING"))
                    } catch is CancellationError {
                        return
                    } catch {
                        connection.channel.close(promise: nil)
                        return
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    // MARK: - Commands

    /// Runs `body` on the loop with the current connection, or fails with `notConnected`.
    func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) -> EventLoopFuture<T>
    ) -> EventLoopFuture<T> {
        eventLoop.flatSubmit {
            guard let connection = self.state.value.connection else {
                return self.eventLoop.makeFailedFuture(
                    RedisError.notConnected(address: self.configuration.address, lastError: self.state.value.lastError))
            }
            return body(connection)
        }
    }

    // MARK: - Subscriptions

    /// SUBSCRIBE in chunks; each channel is answered by one confirmation.
    func subscribeFuture(_ channels: [String], on connection: RedisConnection) -> EventLoopFuture<Void> {
        chunked(channels, verb: "SUBSCRIBE", on: connection)
    }

    func chunked(_ channels: [String], verb: String, on connection: RedisConnection) -> EventLoopFuture<Void> {
        var futures: [EventLoopFuture<[RESPValue]>] = []
        if sharded {
            for channel in channels {
                futures.append(connection.write([RedisCommand(.string("S" + verb), .string(channel))], replyCount: 1))
            }
            return EventLoopFuture.andAllSucceed(futures, on: eventLoop)
        }
        var start = 0
        while start < channels.count {
            let chunk = channels[start..<min(start + 512, channels.count)]
            start += 512
            let command = RedisCommand(arguments: [.string(verb)] + chunk.map { .string($0) })
            futures.append(connection.write([command], replyCount: chunk.count))
        }
        return EventLoopFuture.andAllSucceed(futures, on: eventLoop)
    }
}
