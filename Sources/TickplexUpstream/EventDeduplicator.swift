import TickplexModel

/// Which events of a topic reach the streams while two connections deliver it (pure). Trades carry the exchange's
/// trade id and books their update id, which only grow: those are compared always, so a frame seen twice passes
/// once. Other events compare their exchange time, and only during a hand-over, since two distinct events may share
/// a millisecond.
///
/// A make-before-break switch hands each topic from the old connection to the new one. The two read their sockets
/// independently, so either may run ahead of the other by many frames; comparing marks alone would then drop the
/// lagging connection's frames that the leader never had (its subscription began later) — a gap. So during a
/// hand-over the old connection stays the topic's source, and the new one's events wait (bounded) until the old one
/// has delivered up to the first of them: the two streams overlap there, the waiting events newer than what was
/// delivered go out in order, and the new connection is the source from then on (the old one's later frames are
/// dropped). If the old connection stops first, or too much waits, what waits is released as it is.
struct EventDeduplicator: Sendable {
    /// At most this many events wait per topic during a hand-over (a few seconds of a busy trade stream).
    static let maxWaiting = 4096

    private enum HandOver {
        case waiting(from: Int, to: Int)
        /// The new connection is the source; the old one's frames are dropped until it has stopped.
        case done(retired: Int)
    }

    private var last: [String: Int64] = [:]
    private var handOvers: [String: HandOver] = [:]
    /// The new connection's events waiting during a hand-over (kept apart so that appending copies nothing).
    private var waitingEvents: [String: [(mark: Int64, event: MarketEvent)]] = [:]

    /// Whether `event`, read by connection `connection`, goes out, and which waiting events go out after it.
    mutating func admit(topic: String, connection: Int, _ event: MarketEvent) -> (pass: Bool, released: [MarketEvent]) {
        guard let handOver = handOvers[topic] else {
            return (isNewer(topic: topic, mark(event, handingOver: false)), [])
        }
        let mark = mark(event, handingOver: true)
        switch handOver {
        case .done(let retired):
            if connection == retired { return (false, []) }
            return (isNewer(topic: topic, mark), [])
        case .waiting(let from, let to):
            if connection == to {
                guard let mark else { return (true, []) }
                waitingEvents[topic, default: []].append((mark, event))
                return (false, completeIfOverlapping(topic: topic))
            }
            let pass = connection == from ? isNewer(topic: topic, mark) : false
            return (pass, completeIfOverlapping(topic: topic))
        }
    }

    /// A switch begins: `topics` move from connection `from` to connection `to`.
    mutating func handOver(_ topics: [String], from: Int, to: Int) {
        for topic in topics {
            handOvers[topic] = .waiting(from: from, to: to)
            waitingEvents[topic] = nil
        }
    }

    /// Connection `from` has stopped: its hand-overs end, and whatever still waits is released (newer ones only).
    mutating func finish(from: Int) -> [(topic: String, event: MarketEvent)] {
        var released: [(topic: String, event: MarketEvent)] = []
        for (topic, handOver) in handOvers {
            switch handOver {
            case .done(let retired) where retired == from: handOvers[topic] = nil
            case .waiting(let f, _) where f == from:
                released += complete(topic: topic).map { (topic, $0) }
                handOvers[topic] = nil
            default: continue
            }
        }
        return released
    }

    mutating func forget(topic: String) {
        last[topic] = nil
        handOvers[topic] = nil
        waitingEvents[topic] = nil
    }

    /// Topics still waiting to be handed over from connection `from` (the two streams have not overlapped yet).
    func waiting(from: Int) -> Int {
        handOvers.values.count { if case .waiting(from, _) = $0 { true } else { false } }
    }

    // MARK: -

    private func mark(_ event: MarketEvent, handingOver: Bool) -> Int64? {
        switch event.payload {
        case .trades(let trades): trades.last.flatMap { Int64($0.id) }
        case .book(let book): book.updateId
        default: handingOver ? event.exchangeTime : nil
        }
    }

    private mutating func isNewer(topic: String, _ mark: Int64?) -> Bool {
        guard let mark else { return true }
        if let previous = last[topic], mark <= previous { return false }
        last[topic] = mark
        return true
    }

    /// The old connection has delivered up to the first waiting event (or too much waits): the switch completes.
    private mutating func completeIfOverlapping(topic: String) -> [MarketEvent] {
        guard case .waiting? = handOvers[topic], let events = waitingEvents[topic], let first = events.first else {
            return []
        }
        let overlapping = last[topic].map { $0 >= first.mark } ?? false
        guard overlapping || events.count >= Self.maxWaiting else { return [] }
        return complete(topic: topic)
    }

    private mutating func complete(topic: String) -> [MarketEvent] {
        guard case .waiting(let from, _)? = handOvers[topic] else { return [] }
        let events = waitingEvents.removeValue(forKey: topic) ?? []
        handOvers[topic] = .done(retired: from)
        var released: [MarketEvent] = []
        for (mark, event) in events where isNewer(topic: topic, mark) { released.append(event) }
        return released
    }
}
