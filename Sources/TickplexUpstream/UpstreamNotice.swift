import Synchronization
public import TickplexModel
import TickplexVenues

/// What the upstream side tells its owner (the hub): data, per-stream refusals, connection state.
public enum UpstreamNotice: Sendable, Equatable {
    case event(MarketEvent)
    /// The exchange refused this stream; `reason` is the exchange's own words.
    case rejected(StreamKey, reason: String)
    /// `reconnecting` or `live`, per venue connection.
    case status(venue: Venue, connection: Int, state: String)
}

/// Timings of upstream connections; the defaults are the venues' documented values.
public struct UpstreamTiming: Sendable {
    /// Bybit: send `{"op":"ping"}` this often.
    public var pingInterval: Duration = .seconds(20)
    /// Bybit: reconnect when the pong does not come within this.
    public var pongTimeout: Duration = .seconds(10)
    /// Binance: our own WebSocket ping frame this often (one message of the 5 per second allowed).
    public var binancePingInterval: Duration = .seconds(10)
    /// No frame of any kind (data, ping, pong) for this long on a connection ends it: the path died without a FIN.
    /// Pongs come every ping interval, so this is only reached on a dead path.
    public var silenceTimeout: Duration = .seconds(25)
    /// Binance ends every connection at 24 hours: this long into a session a replacement is opened and subscribed,
    /// and only then is the old one closed (make-before-break).
    public var binanceSessionLifetime: Duration = .seconds(23 * 3600 + 1800)
    public var backoff = Backoff(initial: .seconds(1), maximum: .seconds(60))
    /// How long to wait for the close handshake of a connection being abandoned.
    public var closeTimeout: Duration = .seconds(1)
    /// A server that accepts TCP but never completes the WebSocket upgrade is abandoned after this.
    public var handshakeTimeout: Duration = .seconds(10)
    public init() {}
}

/// Topic → the stream keys it serves (several book depths can share one topic). Written by the pool, read by the
/// connections' readers on every event: a lock keeps that read free of an actor hop per event.
final class TopicKeyMap: Sendable {
    private let map = Mutex<[String: Set<StreamKey>]>([:])

    func add(_ key: StreamKey, topic: String) { map.withLock { _ = $0[topic, default: []].insert(key) } }

    func remove(_ key: StreamKey, topic: String) {
        map.withLock {
            $0[topic]?.remove(key)
            if $0[topic]?.isEmpty == true { $0[topic] = nil }
        }
    }

    func removeTopic(_ topic: String) { map.withLock { $0[topic] = nil } }

    func keys(_ topic: String) -> Set<StreamKey> { map.withLock { $0[topic] ?? [] } }
}

/// The USD-M ticker merge of one pool, shared by its connections (the three parts ride different connections):
/// one lock around a pure `TickerMerge`, taken once per ticker part.
final class SharedTickerMerge: Sendable {
    private let merge = Mutex(TickerMerge())
    func apply(_ part: Ticker, exchangeTime: Int64) -> Ticker? {
        merge.withLock { $0.apply(part, exchangeTime: exchangeTime) }
    }
    func forget(_ symbol: String) { merge.withLock { $0.forget(symbol) } }
}

/// Across a make-before-break switch two connections deliver the same frames for a while: `EventDeduplicator`
/// decides which pass (and releases the new connection's waiting ones once the two streams overlap). One lock
/// around it, Binance venues only, taken once per event.
final class SharedDeduplicator: Sendable {
    private let state = Mutex(EventDeduplicator())
    func admit(topic: String, connection: Int, _ event: MarketEvent) -> (pass: Bool, released: [MarketEvent]) {
        state.withLock { $0.admit(topic: topic, connection: connection, event) }
    }
    func handOver(_ topics: [String], from: Int, to: Int) {
        state.withLock { $0.handOver(topics, from: from, to: to) }
    }
    func finish(from: Int) -> [(topic: String, event: MarketEvent)] { state.withLock { $0.finish(from: from) } }
    func waiting(from: Int) -> Int { state.withLock { $0.waiting(from: from) } }
    func forget(topic: String) { state.withLock { $0.forget(topic: topic) } }
}
