public import TickplexModel

/// A local order book kept from a snapshot and deltas: size zero deletes a level, a new price inserts one, an
/// existing price replaces its size, a snapshot resets everything. Levels stay sorted (bids descending, asks
/// ascending) by an exact fixed-point key, so taking the top N is a slice.
public struct LocalOrderBook: Sendable {
    private struct Side {
        let descending: Bool
        var keys: [Int128] = []
        var levels: [PriceLevel] = []

        init(descending: Bool) { self.descending = descending }

        /// Index of the first key not ordered before `key`.
        func position(_ key: Int128) -> Int {
            var lo = 0
            var hi = keys.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let before = descending ? keys[mid] > key : keys[mid] < key
                if before { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }

        mutating func apply(_ level: PriceLevel) throws(VenueDecodeError) {
            guard let key = DecimalText.sortKey(level.price) else {
                throw VenueDecodeError("price \"\(level.price)\" is not a decimal")
            }
            let i = position(key)
            let exists = i < keys.count && keys[i] == key
            if DecimalText.isZero(level.size) {
                if exists {
                    keys.remove(at: i)
                    levels.remove(at: i)
                }
            } else if exists {
                levels[i] = level
            } else {
                keys.insert(key, at: i)
                levels.insert(level, at: i)
            }
        }

        mutating func reset(_ new: [PriceLevel]) throws(VenueDecodeError) {
            keys.removeAll(keepingCapacity: true)
            levels.removeAll(keepingCapacity: true)
            for level in new { try apply(level) }
        }
    }

    private var bids = Side(descending: true)
    private var asks = Side(descending: false)
    public private(set) var updateId: Int64 = 0
    public private(set) var hasSnapshot = false

    public init() {}

    public mutating func reset(bids: [PriceLevel], asks: [PriceLevel], updateId: Int64) throws(VenueDecodeError) {
        try self.bids.reset(bids)
        try self.asks.reset(asks)
        self.updateId = updateId
        hasSnapshot = true
    }

    public mutating func apply(bids: [PriceLevel], asks: [PriceLevel], updateId: Int64) throws(VenueDecodeError) {
        for level in bids { try self.bids.apply(level) }
        for level in asks { try self.asks.apply(level) }
        self.updateId = updateId
    }

    /// Keeps at most `maxLevels` per side, dropping the farthest from the top (a bound whatever the exchange sends).
    public mutating func trim(maxLevels: Int) {
        if bids.levels.count > maxLevels {
            bids.keys.removeLast(bids.keys.count - maxLevels)
            bids.levels.removeLast(bids.levels.count - maxLevels)
        }
        if asks.levels.count > maxLevels {
            asks.keys.removeLast(asks.keys.count - maxLevels)
            asks.levels.removeLast(asks.levels.count - maxLevels)
        }
    }

    /// The best `depth` levels of each side.
    public func top(_ depth: Int) -> Book {
        Book(
            bids: Array(bids.levels.prefix(depth)), asks: Array(asks.levels.prefix(depth)), updateId: updateId)
    }
}
