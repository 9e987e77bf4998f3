public import NIOCore

/// A stored value and how long ago it was stored.
public struct StoredValue: Sendable, Equatable {
    public let value: ByteBuffer
    public let ageMs: Int64

    public init(value: ByteBuffer, ageMs: Int64) {
        self.value = value
        self.ageMs = ageMs
    }
}

/// The latest encoded state of each stream (for REST quotes and for snapshots to newly subscribed clients).
/// Every value expires after `ttl`, so a stream that stopped is never served as current.
public protocol LastValueStore: Sendable {
    var ttl: Duration { get }
    func set(_ key: String, _ value: ByteBuffer) async throws
    func get(_ key: String) async throws -> StoredValue?
}
