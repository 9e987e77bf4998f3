public import NIOCore

/// A client's bounded outbound queue. Ticker and book frames are conflated (a pending older frame of the same
/// stream is replaced by the newer one); a trade or kline frame that would overflow the bound means the client
/// cannot keep up, and it is closed with 4008 "slow consumer". Pure: the gateway owns the locking and the writes.
public struct OutboundQueue: Sendable {
    public enum Outcome: Sendable, Equatable {
        case queued
        /// Replaced a pending frame of the same stream.
        case conflated
        /// A conflatable frame that did not fit even after conflation: dropped (the next one supersedes it).
        case dropped
        /// A frame that must not be lost did not fit: close the client.
        case overflow
    }

    struct Item: Sendable {
        var stream: String?
        var conflate: Bool
        var bytes: ByteBuffer
    }

    public let maxBytes: Int
    private var items: [Item] = []
    public private(set) var byteCount = 0

    public init(maxBytes: Int) { self.maxBytes = maxBytes }

    public var isEmpty: Bool { items.isEmpty }

    public mutating func enqueue(_ bytes: ByteBuffer, stream: String?, conflate: Bool) -> Outcome {
        if conflate, let stream, let i = items.lastIndex(where: { $0.stream == stream && $0.conflate }) {
            byteCount += bytes.readableBytes - items[i].bytes.readableBytes
            items[i].bytes = bytes
            return .conflated
        }
        guard byteCount + bytes.readableBytes <= maxBytes else { return conflate ? .dropped : .overflow }
        items.append(Item(stream: stream, conflate: conflate, bytes: bytes))
        byteCount += bytes.readableBytes
        return .queued
    }

    /// Everything pending, oldest first; the queue is empty after.
    public mutating func drain() -> [ByteBuffer] {
        defer {
            items.removeAll(keepingCapacity: true)
            byteCount = 0
        }
        return items.map(\.bytes)
    }
}
