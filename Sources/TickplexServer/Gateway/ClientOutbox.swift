import NIOCore
import Synchronization

/// The shared side of one client's outbound queue: the hub enqueues (synchronously, no task per message), the
/// client's single writer task takes everything pending at once, writes it in order and flushes once.
final class ClientOutbox: Sendable {
    struct State {
        var queue: OutboundQueue
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
        var overflowed = false
    }

    let id: Int
    private let state: Mutex<State>
    let stats: GatewayStats
    /// Called once, when the client overflows: its writer may be blocked on a socket that never drains, so the
    /// gateway arms a hard close from here.
    private let onOverflow: @Sendable () -> Void

    init(id: Int, maxBytes: Int, stats: GatewayStats, onOverflow: @escaping @Sendable () -> Void = {}) {
        self.id = id
        self.stats = stats
        self.onOverflow = onOverflow
        state = Mutex(State(queue: OutboundQueue(maxBytes: maxBytes)))
    }

    /// Returns false when the client overflowed (the writer closes it).
    @discardableResult
    func enqueue(_ bytes: ByteBuffer, stream: String?, conflate: Bool) -> Bool {
        let (waiter, outcome): (CheckedContinuation<Void, Never>?, OutboundQueue.Outcome?) = state.withLock { s in
            guard !s.closed, !s.overflowed else { return (nil, nil) }
            let outcome = s.queue.enqueue(bytes, stream: stream, conflate: conflate)
            if outcome == .overflow { s.overflowed = true }
            let w = s.waiter
            s.waiter = nil
            return (w, outcome)
        }
        switch outcome {
        case .conflated, .dropped: stats.conflated.add(1)
        case .overflow:
            stats.slowConsumerCloses.add(1)
            onOverflow()
        default: break
        }
        waiter?.resume()
        return outcome != .overflow
    }

    /// Waits until something is pending (or the client is closing); returns the frames and whether the client
    /// overflowed.
    func next() async -> (frames: [ByteBuffer], overflowed: Bool, closed: Bool) {
        while true {
            let ready: (frames: [ByteBuffer], overflowed: Bool, closed: Bool)? = state.withLock { s in
                if s.overflowed || s.closed || !s.queue.isEmpty {
                    return (s.queue.drain(), s.overflowed, s.closed)
                }
                return nil
            }
            if let ready { return ready }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { s -> Bool in
                    if s.overflowed || s.closed || !s.queue.isEmpty { return true }
                    s.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    func close() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }
}

/// Gateway counters for `/stats` and `/metrics`.
final class GatewayStats: Sendable {
    let clients = Atomic<Int>(0)
    let messagesOut = Atomic<Int>(0)
    let conflated = Atomic<Int>(0)
    let slowConsumerCloses = Atomic<Int>(0)

    var snapshot: GatewayCounters {
        GatewayCounters(
            clients: clients.value, messagesOut: messagesOut.value, conflated: conflated.value,
            slowConsumerCloses: slowConsumerCloses.value)
    }
}

/// A reading of the gateway's counters.
public struct GatewayCounters: Sendable, Equatable {
    public var clients: Int
    /// Frames handed to client sockets.
    public var messagesOut: Int
    /// Ticker/book frames replaced by a newer one (or dropped) for a client that fell behind.
    public var conflated: Int
    /// Clients closed with 4008 because a trade/kline frame did not fit their queue.
    public var slowConsumerCloses: Int
}

extension Atomic where Value == Int {
    func add(_ n: Int) { _ = wrappingAdd(n, ordering: .relaxed) }
    var value: Int { load(ordering: .relaxed) }
}
