public import Logging
public import NIOCore
public import TickplexRedis

/// The bus over Redis pub/sub: PUBLISH on the shared command client, SUBSCRIBE on a dedicated subscriber
/// connection that re-subscribes by itself after Redis comes back. Run `client` and `subscriber` as services.
public final class RedisBus: MessageBus {
    public let kind = "redis"
    public let client: RedisClient
    public let subscriber: RedisSubscriber
    private let received: BoundedMessages
    public var messages: AsyncStream<BusMessage> { received.stream }
    public var dropped: Int { received.dropped }

    public init(client: RedisClient, logger: Logger = Logger(label: "tickplex.bus")) {
        self.client = client
        let received = BoundedMessages()
        self.received = received
        self.subscriber = RedisSubscriber(configuration: client.configuration, logger: logger, commands: client) {
            message in
            received.yield(BusMessage(channel: message.channel, payload: message.payload))
        }
    }

    public func publish(_ channel: String, _ payload: ByteBuffer) async throws {
        let reply = try await client.send(.publish(channel, payload, sharded: client.configuration.cluster))
        if case .error(let message) = reply {
            throw RedisError.server(address: client.configuration.address, command: "PUBLISH", reply: message)
        }
    }

    public func publish(_ messages: [BusMessage]) async throws {
        let sharded = client.configuration.cluster
        let replies = try await client.send(messages.map { .publish($0.channel, $0.payload, sharded: sharded) })
        for case .error(let message) in replies {
            throw RedisError.server(address: client.configuration.address, command: "PUBLISH", reply: message)
        }
    }

    public func subscribe(_ channels: [String]) async throws {
        try await subscriber.subscribe(channels)
    }

    public func unsubscribe(_ channels: [String]) async throws {
        try await subscriber.unsubscribe(channels)
    }

    public var channelCount: Int { get async { await subscriber.channels.count } }

    public func finish() {
        received.finish()
    }
}
