public import NIOCore
import Synchronization
import TickplexModel
public import TickplexRedis

/// One encoded event on its way out: the stream's last value (when it has state), the bus message, and a closed
/// candle for history.
public struct OutgoingEvent: Sendable {
    public var channel: String
    public var payload: ByteBuffer
    /// Set for streams with state (ticker, book, kline): the event becomes the stream's last value.
    public var lastValueKey: String?
    /// A closed candle: its history series, start and JSON.
    public var candle: (series: String, start: Int64, json: ByteBuffer)?
    /// In a cluster: the lease the event is published under (stored and published only while it holds).
    public var fence: Fence?

    public struct Fence: Sendable {
        public var names: StreamLeaseNames
        public var token: String
        public var seq: UInt64

        public init(names: StreamLeaseNames, token: String, seq: UInt64) {
            self.names = names
            self.token = token
            self.seq = seq
        }
    }

    public init(
        channel: String, payload: ByteBuffer, lastValueKey: String?,
        candle: (series: String, start: Int64, json: ByteBuffer)? = nil, fence: Fence? = nil
    ) {
        self.channel = channel
        self.payload = payload
        self.lastValueKey = lastValueKey
        self.candle = candle
        self.fence = fence
    }
}

/// Where the publisher sends each event. Called from one task, in event order.
public protocol EventWriter: Sendable {
    /// Sends one event; it may return before the writes are acknowledged (a failure is then counted through
    /// `onFailure`), but it keeps their order.
    func write(_ event: OutgoingEvent) async throws
}

/// The stores and the bus, awaited one after the other (in-process mode: nothing to wait for).
public struct DirectEventWriter: EventWriter {
    let bus: any MessageBus
    let store: any LastValueStore
    let history: any CandleHistory

    public init(bus: any MessageBus, store: any LastValueStore, history: any CandleHistory) {
        self.bus = bus
        self.store = store
        self.history = history
    }

    public func write(_ event: OutgoingEvent) async throws {
        if let key = event.lastValueKey { try await store.set(key, event.payload) }
        try await bus.publish(event.channel, event.payload)
        if let candle = event.candle {
            try await history.add(series: candle.series, start: candle.start, candle: candle.json)
        }
    }
}

/// Redis mode: each event becomes its commands (`SET … PX`, `PUBLISH`, and for a closed candle the history update,
/// built by `RedisLastValueStore`, `RedisCommand.publish` and `RedisCandleHistory`), appended to a pending batch. One
/// batch is in flight at a time: the first event goes out at once; events that arrive while its replies are on the
/// way gather and go out together when they come back (self-clocking, like Nagle's algorithm without a timer), so
/// a busy publisher costs one loop hop and one write per round trip instead of per event, and nobody waits for
/// replies. Past `maxPending` unsent events the publisher waits for the batch in flight (backpressure instead of
/// unbounded memory).
public final class PipelinedRedisEventWriter: EventWriter {
    private struct State {
        var pending: [RedisCommand] = []
        var pendingEvents = 0
        /// A flush is scheduled on the loop, or a batch is written and not yet answered.
        var busy = false
        var inFlight: EventLoopFuture<[RESPValue]>?
        var batches = 0
        /// Where fenced publishes sit in `pending`, and their channels: a `0` reply there means the lease was lost.
        var fenced: [(index: Int, channel: String)] = []
    }

    /// Pipelined writes so far (each carries every event that was pending).
    public var batches: Int { state.withLock { $0.batches } }

    private let client: RedisClient
    private let lastValueTTL: Duration
    private let historyMax: Int
    private let maxPending: Int
    private let onFailure: @Sendable (any Error) -> Void
    /// A fenced publish found its lease held by another node (the channel): that stream is no longer this node's.
    private let onFenced: @Sendable (String) -> Void
    private let state = Mutex(State())

    public init(
        client: RedisClient, lastValueTTL: Duration, historyMax: Int, maxPending: Int = 8192,
        onFailure: @escaping @Sendable (any Error) -> Void, onFenced: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.onFenced = onFenced
        self.client = client
        self.lastValueTTL = lastValueTTL
        self.historyMax = historyMax
        self.maxPending = maxPending
        self.onFailure = onFailure
    }

    public func write(_ event: OutgoingEvent) async throws {
        let commands = commands(for: event)
        let (schedule, waitFor) = state.withLock { s -> (Bool, EventLoopFuture<[RESPValue]>?) in
            if event.fence != nil { s.fenced.append((s.pending.count, event.channel)) }
            s.pending.append(contentsOf: commands)
            s.pendingEvents += 1
            let schedule = !s.busy
            s.busy = true
            return (schedule, s.pendingEvents > maxPending ? s.inFlight : nil)
        }
        if schedule { client.eventLoop.execute { self.flush() } }
        if let waitFor { _ = try? await waitFor.get() }
    }

    /// On the Redis loop: everything pending as one pipelined write; when it is answered, the next.
    private func flush() {
        let (commands, fenced) = state.withLock { s -> ([RedisCommand], [(index: Int, channel: String)]) in
            defer {
                s.pending.removeAll(keepingCapacity: true)
                s.fenced.removeAll(keepingCapacity: true)
                s.pendingEvents = 0
            }
            if s.pending.isEmpty { s.busy = false }
            return (s.pending, s.fenced)
        }
        guard !commands.isEmpty else { return }
        let future = client.enqueue(commands)
        state.withLock {
            $0.inFlight = future
            $0.batches += 1
        }
        future.whenComplete { result in
            switch result {
            case .failure(let error): self.onFailure(error)
            case .success(let replies):
                for (index, channel) in fenced where index < replies.count && replies[index] == .integer(0) {
                    self.onFenced(channel)
                }
                for case .error(let message) in replies {
                    self.onFailure(
                        RedisError.server(
                            address: self.client.configuration.address, command: "pipeline", reply: message))
                }
            }
            self.state.withLock { $0.inFlight = nil }
            self.flush()
        }
    }

    private func commands(for event: OutgoingEvent) -> [RedisCommand] {
        var commands: [RedisCommand] = []
        if let fence = event.fence {
            commands.append(
                RedisStreamLeases.fencedPublish(
                    fence.names, token: fence.token, seq: fence.seq, payload: event.payload,
                    lastValue: event.lastValueKey.map { ($0, Int(lastValueTTL.milliseconds)) },
                    sharded: client.configuration.cluster))
        } else {
            if let key = event.lastValueKey {
                commands.append(RedisLastValueStore.setCommand(key, event.payload, ttl: lastValueTTL))
            }
            commands.append(.publish(event.channel, event.payload, sharded: client.configuration.cluster))
        }
        if let candle = event.candle {
            commands += RedisCandleHistory.addCommands(
                series: candle.series, start: candle.start, candle: candle.json, maxPerSeries: historyMax)
        }
        return commands
    }
}
