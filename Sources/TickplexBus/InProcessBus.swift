public import NIOCore
import Synchronization

/// The single-node bus used when no `REDIS_URL` is set: a publish reaches `messages` only for subscribed
/// channels, exactly as with Redis, so the rest of the node behaves the same in both modes.
public final class InProcessBus: MessageBus {
    public let kind = "in-process"
    private let received = BoundedMessages()
    public var messages: AsyncStream<BusMessage> { received.stream }
    public var dropped: Int { received.dropped }
    // A lock rather than an actor: publish runs per event and must not hop; the critical section is one set lookup.
    private let subscribed = Mutex<Set<String>>([])

    public init() {}

    public func publish(_ channel: String, _ payload: ByteBuffer) async throws {
        deliver(channel, payload)
    }

    public func publish(_ messages: [BusMessage]) async throws {
        for message in messages { deliver(message.channel, message.payload) }
    }

    private func deliver(_ channel: String, _ payload: ByteBuffer) {
        // Yield inside the lock so that a concurrent unsubscribe cannot slip between the check and the yield.
        subscribed.withLock { channels in
            if channels.contains(channel) { received.yield(BusMessage(channel: channel, payload: payload)) }
        }
    }

    public func subscribe(_ channels: [String]) async throws {
        subscribed.withLock { $0.formUnion(channels) }
    }

    public func unsubscribe(_ channels: [String]) async throws {
        subscribed.withLock { $0.subtract(channels) }
    }

    public var subscribedChannels: Set<String> {
        subscribed.withLock { $0 }
    }

    public var channelCount: Int { subscribed.withLock { $0.count } }

    public func finish() {
        received.finish()
    }
}
