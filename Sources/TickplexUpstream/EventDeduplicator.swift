import TickplexModel

/// Whether an event is newer than the last delivered on its topic (pure). Trades carry the exchange's trade id and
/// books their update id, which only grow: those are compared always. Other events compare their exchange time,
/// and only while a connection switch is under way (`switches > 0`), since two distinct events may share a
/// millisecond.
struct EventDeduplicator: Sendable {
    private var last: [String: Int64] = [:]
    var switches = 0

    mutating func isNew(topic: String, _ event: MarketEvent) -> Bool {
        let mark: Int64?
        switch event.payload {
        case .trades(let trades): mark = trades.last.flatMap { Int64($0.id) }
        case .book(let book): mark = book.updateId
        default: mark = switches > 0 ? event.exchangeTime : nil
        }
        guard let mark else { return true }
        if let previous = last[topic], mark <= previous { return false }
        last[topic] = mark
        return true
    }

    mutating func forget(topic: String) { last[topic] = nil }
}
