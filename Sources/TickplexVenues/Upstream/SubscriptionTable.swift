public import TickplexModel

/// The upstream side of reference counting for one venue: which streams are wanted, by how many local
/// subscribers, which exchange topic each needs, and when an unwanted topic may really be unsubscribed
/// (after the linger, so that churn does not flap exchange subscriptions).
///
/// Pure: time is passed in (ms), results are returned as actions for the pool to carry out.
public struct SubscriptionTable: Sendable {
    public enum Action: Sendable, Equatable {
        /// The topic is newly wanted: subscribe it upstream.
        case subscribe(topic: String)
        /// Nobody wanted the topic for the whole linger: unsubscribe it upstream.
        case unsubscribe(topic: String)
    }

    private struct Topic: Sendable {
        var keys: [StreamKey: Int] = [:]
        /// When the last subscriber left; nil while wanted.
        var idleSince: Int64?
        var total: Int { keys.values.reduce(0, +) }
    }

    public let lingerMs: Int64
    private var topics: [String: Topic] = [:]

    public init(lingerMs: Int64) {
        self.lingerMs = lingerMs
    }

    /// One more local subscriber of `key` (served by `topic`).
    public mutating func acquire(_ key: StreamKey, topic: String, now: Int64) -> [Action] {
        let isNew = topics[topic] == nil
        topics[topic, default: Topic()].keys[key, default: 0] += 1
        topics[topic]!.idleSince = nil
        return isNew ? [.subscribe(topic: topic)] : []
    }

    /// One fewer. The topic stays subscribed upstream until `expire` runs after the linger.
    public mutating func release(_ key: StreamKey, topic: String, now: Int64) {
        guard var t = topics[topic], let count = t.keys[key] else { return }
        t.keys[key] = count > 1 ? count - 1 : nil
        if t.total == 0 { t.idleSince = now }
        topics[topic] = t
    }

    /// Unsubscribes every topic idle for at least the linger.
    public mutating func expire(now: Int64) -> [Action] {
        var actions: [Action] = []
        for (name, t) in topics {
            if let idle = t.idleSince, now - idle >= lingerMs {
                topics[name] = nil
                actions.append(.unsubscribe(topic: name))
            }
        }
        return actions.sorted { "\($0)" < "\($1)" }
    }

    /// Ends a lingering topic's linger now (its node lost the right to carry it): true when it was lingering and
    /// is gone, so that the pool unsubscribes it at once.
    public mutating func dropLingering(topic: String) -> Bool {
        guard topics[topic]?.idleSince != nil else { return false }
        topics[topic] = nil
        return true
    }

    /// The exchange refused the topic: forget it and return the keys (with their counts) that asked for it,
    /// so the refusal can be reported to them.
    public mutating func reject(topic: String) -> [StreamKey] {
        guard let t = topics.removeValue(forKey: topic) else { return [] }
        return t.keys.keys.sorted { $0.argument < $1.argument }
    }

    /// Topics the upstream must carry now (wanted or still lingering): resubscribed after a reconnect.
    public var activeTopics: [String] { topics.keys.sorted() }

    /// Whether the topic is carried now (wanted or lingering): acquiring it again costs the exchange nothing.
    public func contains(topic: String) -> Bool { topics[topic] != nil }

    public func count(of key: StreamKey, topic: String) -> Int { topics[topic]?.keys[key] ?? 0 }

    /// Whether the topic is carried only for its linger (no subscriber left).
    public func isLingering(topic: String) -> Bool { topics[topic]?.idleSince != nil }

    /// The earliest time `expire` has something to do.
    public var nextExpiry: Int64? {
        topics.values.compactMap { $0.idleSince.map { $0 + lingerMs } }.min()
    }
}
