public import TickplexBus
public import TickplexModel

/// The names one stream lives under in Redis: its channel, last value, candle history, lease and last `seq`.
/// On a Redis Cluster (`REDIS_CLUSTER=true`) every one of them carries the stream name as its hash tag
/// (`{<stream>}`), so that they share one slot: a fenced publish touches them in one script on one master.
public struct RedisKeyspace: Sendable, Hashable {
    public let brand: String
    public let clustered: Bool

    public init(brand: String, clustered: Bool = false) {
        self.brand = brand
        self.clustered = clustered
    }

    private func tagged(_ key: StreamKey) -> String {
        let stream = key.streamName(brand: brand)
        return clustered ? "{\(stream)}" : stream
    }

    /// `<brand>:<venue>:<kind>[:<interval>]:<SYMBOL>` (DESIGN.md); on a cluster `<brand>:{<stream>}`.
    public func channel(_ key: StreamKey) -> String {
        clustered ? "\(brand):\(tagged(key))" : key.channel(brand: brand)
    }

    /// `<brand>:last:<stream>`.
    public func lastValue(_ key: StreamKey) -> String { "\(brand):last:\(tagged(key))" }
    /// `<brand>:klines:<stream>`.
    public func history(_ key: StreamKey) -> String { "\(brand):klines:\(tagged(key))" }
    /// `<brand>:lease:<stream>`.
    public func lease(_ key: StreamKey) -> String { "\(brand):lease:\(tagged(key))" }
    /// `<brand>:seq:<stream>`.
    public func seq(_ key: StreamKey) -> String { "\(brand):seq:\(tagged(key))" }

    /// The lease, `seq` and channel of a stream, as the lease scripts take them.
    public func leaseNames(_ key: StreamKey) -> StreamLeaseNames {
        StreamLeaseNames(lease: lease(key), seq: seq(key), channel: channel(key))
    }
}
