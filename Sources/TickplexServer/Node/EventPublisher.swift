import Foundation
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization
public import TickplexBus
public import TickplexModel
import TickplexProtocol
public import TickplexUpstream

/// Drains the upstream notices in arrival order: encodes each event once (Transformer), keeps the stream's last
/// value, and publishes the bytes on the bus. One consumer task, no task per message.
public final class EventPublisher: Service, Sendable {
    public let notices: AsyncStream<UpstreamNotice>
    private let continuation: AsyncStream<UpstreamNotice>.Continuation
    private let writer: any EventWriter
    private let brand: String
    private let keyspace: RedisKeyspace
    private let logger: Logger
    private let counters = Counters()
    /// Failed stores and publishes, shared with a writer that reports its own (the pipelined one).
    public let failures: PublishFailures
    /// Ticker prices as they pass (stream name, price text), for the metrics gauges.
    private let priceObserver: (@Sendable (String, String) -> Void)?
    /// Woken with each published event (on-demand quotes wait on it).
    let signal: StreamEventSignal?
    /// In a cluster: the streams this node holds the lease of; events of any other stream are not published.
    let fences: OwnershipFences?

    /// Everything it works with is given here; nothing is set after init.
    public init(
        brand: String, logger: Logger, writer: any EventWriter, failures: PublishFailures? = nil,
        priceObserver: (@Sendable (String, String) -> Void)? = nil, signal: StreamEventSignal? = nil,
        fences: OwnershipFences? = nil, keyspace: RedisKeyspace? = nil
    ) {
        self.keyspace = keyspace ?? RedisKeyspace(brand: brand)
        self.fences = fences
        self.writer = writer
        self.failures = failures ?? PublishFailures(logger: logger)
        self.priceObserver = priceObserver
        self.signal = signal
        // Bounded: an upstream faster than the writer loses its oldest notices (counted in `dropped`), never
        // memory without bound.
        (notices, continuation) = AsyncStream.makeStream(
            of: UpstreamNotice.self, bufferingPolicy: .bufferingNewest(Self.inputBound))
        self.brand = brand
        self.logger = logger
    }

    /// Publishes through `DirectEventWriter(bus:store:history:)`.
    public convenience init(
        bus: any MessageBus, store: any LastValueStore, history: any CandleHistory, brand: String, logger: Logger
    ) {
        self.init(brand: brand, logger: logger, writer: DirectEventWriter(bus: bus, store: store, history: history))
    }

    /// Thread-safe entry point for the upstream pools.
    public func submit(_ notice: UpstreamNotice) {
        if case .dropped = continuation.yield(notice) { counters.dropped.add(1, ordering: .relaxed) }
    }

    /// Notices waiting for the publisher at most.
    public static let inputBound = 65_536
    /// Notices dropped because the publisher's input was full.
    public var dropped: Int { counters.dropped.load(ordering: .relaxed) }

    public var published: Int { counters.published.load(ordering: .relaxed) }
    /// Events not published because this node does not hold (or could not renew) the stream's lease.
    public var unowned: Int { counters.unowned.load(ordering: .relaxed) }
    /// Events not published for want of the lease: dropped here (no fence) or refused by Redis's publish script.
    public var fencedEvents: Int { unowned + (fences?.refusedPublishes.load(ordering: .relaxed) ?? 0) }
    /// Events that could not be stored or published (the bus was down).
    public var failed: Int { failures.count }

    public func run() async throws {
        var transformer = Transformer(brand: brand)
        var lastReport = ContinuousClock.now
        var sinceReport = 0
        // Each stream's names, built once (not three string interpolations per event); as many as streams ever seen.
        var known: [StreamKey: Names] = [:]
        // The lease epoch each stream's sequence was last continued for (cluster only).
        var epochs: [StreamKey: Int] = [:]
        var snapshotNext: Set<StreamKey> = []
        let (observe, writer, fences) = (priceObserver, self.writer, self.fences)
        func names(of key: StreamKey) -> Names {
            if let names = known[key] { return names }
            let built = Names(key, keyspace: keyspace)
            known[key] = built
            return built
        }
        await withGracefulShutdownHandler {
            for await notice in notices {
                switch notice {
                case .event(let event):
                    var fence: OwnershipFences.Fence?
                    if let fences {
                        // Not this node's stream (any more): not published. Whether the lease still holds is
                        // Redis's to say (the publish script checks the token): a node slow to renew — a loaded
                        // machine, a GC-like stall — loses nothing while Redis still has its lease, and one whose
                        // lease expired or moved is refused there and stops (`onFenced`).
                        guard let held = fences.fence(for: event.key) else {
                            counters.unowned.wrappingAdd(1, ordering: .relaxed)
                            continue
                        }
                        if epochs[event.key] != held.epoch {
                            epochs[event.key] = held.epoch
                            // Exactly after the stored seq (events this node sent but Redis refused were never
                            // published); only when Redis lost it, after this node's own last.
                            transformer.continueSequence(
                                event.key,
                                after: held.seqKnown ? held.seqBase : max(held.seqBase, transformer.lastSeq(event.key)))
                            if held.takeover && event.key.kind != .trade && event.key.kind != .liquidation {
                                snapshotNext.insert(event.key)
                            }
                        }
                        fence = held
                    }
                    let type = snapshotNext.remove(event.key) != nil ? "snapshot" : "update"
                    let receivedAt =
                        event.receivedAt > 0 ? event.receivedAt : Int64(Date().timeIntervalSince1970 * 1000)
                    if case .ticker(let ticker) = event.payload, let price = ticker.price, let observe {
                        observe(names(of: event.key).stream, price)
                    }
                    for encoded in transformer.encode(event, receivedAt: receivedAt, type: type) {
                        let bytes = ByteBuffer(bytes: encoded.json)
                        let name = names(of: encoded.key)
                        var outgoing = OutgoingEvent(
                            channel: name.channel, payload: bytes, lastValueKey: name.lastValue,
                            fence: fence.map { .init(names: $0.names, token: $0.token, seq: encoded.seq) })
                        if let candle = encoded.candle, candle.closed {
                            outgoing.candle = (name.history, candle.start, ByteBuffer(bytes: Transformer.json(candle)))
                        }
                        do {
                            try await writer.write(outgoing)
                            signal?.wake(name.stream, with: bytes)
                            counters.published.wrappingAdd(1, ordering: .relaxed)
                            sinceReport += 1
                        } catch {
                            failures.record(error)
                        }
                    }
                case .rejected, .status:
                    // Control notices travel on their own path (`ControlRelay`), not behind market data.
                    break
                }
                let now = ContinuousClock.now
                if now - lastReport >= .seconds(10) {
                    logger.info("published \(sinceReport) messages in the last \(now - lastReport)")
                    lastReport = now
                    sinceReport = 0
                }
            }
        } onGracefulShutdown: {
            self.continuation.finish()
        }
    }

    /// The names one stream is stored and published under.
    struct Names {
        let stream: String
        let channel: String
        /// Nil for streams without state (trades, liquidations): they keep no last value.
        let lastValue: String?
        let history: String

        init(_ key: StreamKey, keyspace: RedisKeyspace) {
            stream = key.streamName(brand: keyspace.brand)
            channel = keyspace.channel(key)
            lastValue = key.kind == .trade || key.kind == .liquidation ? nil : keyspace.lastValue(key)
            history = keyspace.history(key)
        }
    }
}

private final class Counters: Sendable {
    let published = Atomic<Int>(0)
    let unowned = Atomic<Int>(0)
    let dropped = Atomic<Int>(0)
}

/// Stores and publishes that failed (the bus is down): counted, and said at most once per 10 s, not per event.
public final class PublishFailures: Sendable {
    private let failed = Atomic<Int>(0)
    private let lastLog = Mutex(ContinuousClock.now - .seconds(3600))
    private let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func record(_ error: any Error) {
        let failed = self.failed.wrappingAdd(1, ordering: .relaxed).newValue
        let now = ContinuousClock.now
        let due = lastLog.withLock { last -> Bool in
            guard now - last >= .seconds(10) else { return false }
            last = now
            return true
        }
        if due { logger.warning("publishing fails (\(failed) so far): \(error)") }
    }

    public var count: Int { failed.load(ordering: .relaxed) }
}
