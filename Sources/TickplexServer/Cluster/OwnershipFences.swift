import Synchronization
public import TickplexBus
public import TickplexModel

/// The streams this node may publish now, shared by `StreamOwnership` (which installs, extends and removes them)
/// and `EventPublisher` (which reads one per event). An event of a stream without a fence is not published: the
/// lease is another node's, or Redis refused one of its publishes (the lease had expired or moved there).
public final class OwnershipFences: Sendable {
    public struct Fence: Sendable {
        public var names: StreamLeaseNames
        public var token: String
        /// The last `seq` published under the previous holder: this holder continues after it.
        public var seqBase: UInt64
        /// Redis had the last `seq`: continue exactly after it. Otherwise (Redis lost it) after whatever this node
        /// published last, if more.
        public var seqKnown: Bool
        /// Changes with every lease taken: the publisher continues the sequence once per epoch.
        public var epoch: Int
        /// The stream was taken over from a holder that did not give it up: clients are told, and get a snapshot.
        public var takeover: Bool
    }

    private let table = Mutex<[StreamKey: Fence]>([:])
    /// Publishes Redis refused (the lease had expired or moved there).
    let refusedPublishes = Atomic<Int>(0)

    public init() {}

    public func fence(for key: StreamKey) -> Fence? { table.withLock { $0[key] } }

    func install(_ key: StreamKey, _ fence: Fence) { table.withLock { $0[key] = fence } }

    func remove(_ key: StreamKey) { table.withLock { $0[key] = nil } }

    /// A fenced publish on `channel` was refused: whatever holds that channel's fence stops now.
    func removeChannel(_ channel: String) {
        refusedPublishes.wrappingAdd(1, ordering: .relaxed)
        table.withLock { all in
            for (key, fence) in all where fence.names.channel == channel { all[key] = nil }
        }
    }
}
