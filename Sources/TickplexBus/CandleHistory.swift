public import NIOCore

/// Closed candles per series (one series per kline stream), ordered by start time, at most `maxPerSeries` each
/// (the oldest go first). A candle sent again for the same start replaces the stored one.
public protocol CandleHistory: Sendable {
    var maxPerSeries: Int { get }
    func add(series: String, start: Int64, candle: ByteBuffer) async throws
    /// Candles whose start lies in `from...to` (either bound optional, both inclusive), ascending, at most `limit`:
    /// the earliest ones when `from` is given, otherwise the latest ones.
    func range(series: String, from: Int64?, to: Int64?, limit: Int) async throws -> [ByteBuffer]
}

/// In-process history (no REDIS_URL): the same contract, kept in memory for the node's lifetime.
public actor InMemoryCandleHistory: CandleHistory {
    public nonisolated let maxPerSeries: Int
    private var series: [String: [(start: Int64, candle: ByteBuffer)]] = [:]

    public init(maxPerSeries: Int) { self.maxPerSeries = maxPerSeries }

    public func add(series name: String, start: Int64, candle: ByteBuffer) {
        var items = series[name, default: []]
        // Candles close in order, so the insertion point is almost always the end.
        var i = items.count
        while i > 0 && items[i - 1].start > start { i -= 1 }
        if i > 0 && items[i - 1].start == start {
            items[i - 1].candle = candle
        } else {
            items.insert((start, candle), at: i)
        }
        if items.count > maxPerSeries { items.removeFirst(items.count - maxPerSeries) }
        series[name] = items
    }

    public func range(series name: String, from: Int64?, to: Int64?, limit: Int) -> [ByteBuffer] {
        let (low, high) = (from ?? .min, to ?? .max)
        let items = (series[name] ?? []).filter { item in item.start >= low && item.start <= high }
        let chosen = from == nil ? items.suffix(limit) : items.prefix(limit)
        return chosen.map(\.candle)
    }
}
