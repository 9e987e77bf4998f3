public import TickplexModel

/// A Binance order book deeper than the partial streams' 20 levels, kept from the diff stream (`@depth@100ms`)
/// and a REST snapshot exactly as Binance documents it: buffer the diffs; take a snapshot; drop the buffered diffs
/// with `u <= lastUpdateId`; the first one applied must have `U <= lastUpdateId + 1 <= u`; after it each diff must
/// follow the book (spot: `u` before the book's id is ignored, `U` past the book's id + 1 is a gap; USD-M:
/// `pu == previous u`). A gap, or a snapshot older than the buffer, asks for a new snapshot. Pure: the connection fetches snapshots and feeds them in.
public struct BinanceDiffBook: Sendable {
    public struct Diff: Sendable, Equatable {
        public var first: Int64  // U
        public var last: Int64  // u
        public var previous: Int64?  // pu (USD-M)
        public var bids: [PriceLevel]
        public var asks: [PriceLevel]
        public init(first: Int64, last: Int64, previous: Int64?, bids: [PriceLevel], asks: [PriceLevel]) {
            self.first = first
            self.last = last
            self.previous = previous
            self.bids = bids
            self.asks = asks
        }
    }

    public enum Output: Sendable, Equatable {
        /// The book changed: its state after the diff.
        case changed
        /// A (new) snapshot is needed; the reason says why.
        case needSnapshot(reason: String)
    }

    public let usdm: Bool
    /// Diffs kept while waiting for a snapshot (a snapshot takes a REST round trip; at 10 diffs a second this is
    /// minutes of them).
    public static let maxBuffered = 2_000
    /// Levels kept per side: a snapshot brings 1,000; diffs can add more beyond it, which are dropped farthest first.
    public static let maxLevels = 5_000

    private(set) public var book = LocalOrderBook()
    private(set) public var synced = false
    private var buffer: [Diff] = []
    private var snapshotAsked = false

    public init(usdm: Bool) { self.usdm = usdm }

    /// A diff from the stream.
    public mutating func diff(_ d: Diff) throws(VenueDecodeError) -> [Output] {
        guard synced else {
            buffer.append(d)
            if buffer.count > Self.maxBuffered { buffer.removeFirst(buffer.count - Self.maxBuffered) }
            guard !snapshotAsked else { return [] }
            snapshotAsked = true
            return [.needSnapshot(reason: "first diff: a snapshot starts the book")]
        }
        // Spot (its current rules): a diff wholly before the book is ignored; one that starts after the next id is
        // a gap; one that overlaps is applied (the recordings have such overlaps). USD-M: `pu` names the diff before.
        if !usdm && d.last <= book.updateId { return [] }
        let follows = usdm ? d.previous == book.updateId : d.first <= book.updateId + 1
        guard follows else {
            return resync(
                reason:
                    "update id gap (had \(book.updateId), got U=\(d.first) u=\(d.last)\(d.previous.map { " pu=\($0)" } ?? ""))",
                keep: d)
        }
        try book.apply(bids: d.bids, asks: d.asks, updateId: d.last)
        book.trim(maxLevels: Self.maxLevels)
        return [.changed]
    }

    /// A REST snapshot (`lastUpdateId`, bids, asks) arrived.
    public mutating func snapshot(lastUpdateId: Int64, bids: [PriceLevel], asks: [PriceLevel])
        throws(VenueDecodeError) -> [Output]
    {
        snapshotAsked = false
        // Older than what is buffered: the diffs in between are gone; ask again.
        if let first = buffer.first, lastUpdateId + 1 < first.first {
            snapshotAsked = true
            return [.needSnapshot(reason: "snapshot \(lastUpdateId) older than the buffered diffs (U=\(first.first))")]
        }
        let pending = buffer.filter { $0.last > lastUpdateId }
        buffer.removeAll()
        try book.reset(bids: bids, asks: asks, updateId: lastUpdateId)
        synced = true
        for (i, d) in pending.enumerated() {
            if i == 0 {
                guard d.first <= lastUpdateId + 1 && lastUpdateId + 1 <= d.last else {
                    return resync(
                        reason:
                            "first diff after snapshot \(lastUpdateId) does not straddle it (U=\(d.first) u=\(d.last))",
                        keep: nil)
                }
                try book.apply(bids: d.bids, asks: d.asks, updateId: d.last)
            } else {
                let step = try diff(d)
                if step.contains(where: { if case .needSnapshot = $0 { true } else { false } }) { return step }
            }
        }
        book.trim(maxLevels: Self.maxLevels)
        return [.changed]
    }

    private mutating func resync(reason: String, keep: Diff?) -> [Output] {
        synced = false
        book = LocalOrderBook()
        buffer = keep.map { [$0] } ?? []
        snapshotAsked = true
        return [.needSnapshot(reason: reason)]
    }
}
