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
    private let logger: Logger
    private let counters = Counters()
    /// Failed stores and publishes, shared with a writer that reports its own (the pipelined one).
    public let failures: PublishFailures
    /// Ticker prices as they pass (stream name, price text), for the metrics gauges.
    private let priceObserver: (@Sendable (String, String) -> Void)?
    /// Woken with each published event (on-demand quotes wait on it).
    let signal: StreamEventSignal?

    /// Everything it works with is given here; nothing is set after init.
    public init(
        brand: String, logger: Logger, writer: any EventWriter, failures: PublishFailures? = nil,
        priceObserver: (@Sendable (String, String) -> Void)? = nil, signal: StreamEventSignal? = nil
    ) {
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
    /// Events that could not be stored or published (the bus was down).
    public var failed: Int { failures.count }

    public func run() async throws {
        var transformer = Transformer(brand: brand)
        var lastReport = ContinuousClock.now
        var sinceReport = 0
        // Each stream's names, built once (not three string interpolations per event); as many as streams ever seen.
        var known: [StreamKey: Names] = [:]
        let (observe, writer) = (priceObserver, self.writer)
        func names(of key: StreamKey) -> Names {
            if let names = known[key] { return names }
            let built = Names(key, brand: brand)
            known[key] = built
            return built
        }
        await withGracefulShutdownHandler {
            for await notice in notices {
                switch notice {
                case .event(let event):
                    let receivedAt =
                        event.receivedAt > 0 ? event.receivedAt : Int64(Date().timeIntervalSince1970 * 1000)
                    if case .ticker(let ticker) = event.payload, let price = ticker.price, let observe {
                        observe(names(of: event.key).stream, price)
                    }
                    for encoded in transformer.encode(event, receivedAt: receivedAt) {
                        let bytes = ByteBuffer(bytes: encoded.json)
                        let name = names(of: encoded.key)
                        var outgoing = OutgoingEvent(
                            channel: name.channel, payload: bytes, lastValueKey: name.lastValue)
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

        init(_ key: StreamKey, brand: String) {
            stream = key.streamName(brand: brand)
            channel = key.channel(brand: brand)
            lastValue = key.kind == .trade || key.kind == .liquidation ? nil : lastValueKey(key, brand: brand)
            history = historyKey(key, brand: brand)
        }
    }

    /// `<brand>:klines:<stream>`: the closed candles of one kline stream.
    public static func historyKey(_ key: StreamKey, brand: String) -> String {
        "\(brand):klines:\(key.streamName(brand: brand))"
    }

    /// `<brand>:last:<stream>`.
    public static func lastValueKey(_ key: StreamKey, brand: String) -> String {
        "\(brand):last:\(key.streamName(brand: brand))"
    }
}

private final class Counters: Sendable {
    let published = Atomic<Int>(0)
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
