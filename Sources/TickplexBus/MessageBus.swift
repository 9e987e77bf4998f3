public import NIOCore
import Synchronization

/// A message on a bus channel. The payload is the already-encoded event, shared by every consumer.
public struct BusMessage: Sendable {
    public let channel: String
    public let payload: ByteBuffer

    public init(channel: String, payload: ByteBuffer) {
        self.channel = channel
        self.payload = payload
    }
}

/// Publish/subscribe between the upstream side and the fan-out side of one or many nodes.
///
/// A node subscribes a channel once (for all its local clients) and reads every message of its subscribed
/// channels from `messages`, in publish order per channel.
public protocol MessageBus: Sendable {
    /// `redis` or `in-process`, for logs and `/health`.
    var kind: String { get }
    func publish(_ channel: String, _ payload: ByteBuffer) async throws
    /// Publishes several messages in one round trip where the bus can pipeline.
    func publish(_ messages: [BusMessage]) async throws
    func subscribe(_ channels: [String]) async throws
    func unsubscribe(_ channels: [String]) async throws
    /// Channels this node is subscribed to now (for `/stats`: they must return to zero when clients leave).
    var channelCount: Int { get async }
    /// The node's single stream of received messages; read by one listener. Bounded (`messageBound`): when the
    /// listener falls that far behind, the oldest waiting messages are dropped and counted in `dropped`.
    var messages: AsyncStream<BusMessage> { get }
    /// Messages dropped because the listener fell `messageBound` behind.
    var dropped: Int { get }
}

/// How many received messages may wait for the node's bus listener.
public let messageBound = 65_536

/// The received-message stream of a bus, bounded, with a count of what it had to drop.
final class BoundedMessages: Sendable {
    let stream: AsyncStream<BusMessage>
    private let continuation: AsyncStream<BusMessage>.Continuation
    private let droppedCount = Atomic<Int>(0)

    init() {
        (stream, continuation) = AsyncStream.makeStream(
            of: BusMessage.self, bufferingPolicy: .bufferingNewest(messageBound))
    }

    func yield(_ message: BusMessage) {
        if case .dropped = continuation.yield(message) { droppedCount.add(1, ordering: .relaxed) }
    }

    func finish() { continuation.finish() }
    var dropped: Int { droppedCount.load(ordering: .relaxed) }
}
