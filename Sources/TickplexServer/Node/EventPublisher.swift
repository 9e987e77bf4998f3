import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TickplexBus
import TickplexCore
import TickplexUpstream

/// Drains the upstream notices in arrival order: encodes each event once (Transformer), keeps the stream's last
/// value, and publishes the bytes on the bus. One consumer task, no task per message.
public final class EventPublisher: Service, Sendable {
    public let notices: AsyncStream<UpstreamNotice>
    private let continuation: AsyncStream<UpstreamNotice>.Continuation
    private let writer: Mutex<(any EventWriter)?>
    private let brand: String
    private let logger: Logger
    private let counters = Counters()
    /// Ticker prices as they pass (stream name, price text), for the metrics gauges.
    private let priceObserver = Mutex<(@Sendable (String, String) -> Void)?>(nil)

    public func setPriceObserver(_ observer: @escaping @Sendable (String, String) -> Void) {
        priceObserver.withLock { $0 = observer }
    }

    /// Publishes through `DirectEventWriter(bus:store:history:)`.
    public convenience init(
        bus: any MessageBus, store: any LastValueStore, history: any CandleHistory, brand: String, logger: Logger
    ) {
        self.init(brand: brand, logger: logger)
        setWriter(DirectEventWriter(bus: bus, store: store, history: history))
    }

    /// The writer is set after init when it reports its failures back here (`recordFailure`).
    /// Woken with each published event (on-demand quotes wait on it).
    let signal: StreamEventSignal?

    public init(brand: String, logger: Logger, signal: StreamEventSignal? = nil) {
        self.signal = signal
        writer = Mutex(nil)
        // Bounded: an upstream faster than the writer loses its oldest notices (counted in `dropped`), never
        // memory without bound.
        (notices, continuation) = AsyncStream.makeStream(
            of: UpstreamNotice.self, bufferingPolicy: .bufferingNewest(Self.inputBound))
        self.brand = brand
        self.logger = logger
    }

    /// Set before the service runs (read once when it starts), like the price observer.
    public func setWriter(_ writer: any EventWriter) { self.writer.withLock { $0 = writer } }

    /// A store or publish that failed (the bus is down): counted, and said at most once per 10 s, not per event.
    public func recordFailure(_ error: any Error) {
        let failed = counters.failed.wrappingAdd(1, ordering: .relaxed).newValue
        let now = ContinuousClock.now
        let due = counters.lastFailureLog.withLock { last -> Bool in
            guard now - last >= .seconds(10) else { return false }
            last = now
            return true
        }
        if due { logger.warning("publishing fails (\(failed) so far): \(error)") }
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
    public var failed: Int { counters.failed.load(ordering: .relaxed) }

    public func run() async throws {
        var transformer = Transformer(brand: brand)
        var lastReport = ContinuousClock.now
        var sinceReport = 0
        // Each stream's names, built once (not three string interpolations per event); as many as streams ever seen.
        var known: [StreamKey: Names] = [:]
        let observe = priceObserver.withLock { $0 }
        guard let writer = writer.withLock({ $0 }) else {
            logger.error("event publisher started without a writer: nothing is published")
            return
        }
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
                            recordFailure(error)
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
    let failed = Atomic<Int>(0)
    let dropped = Atomic<Int>(0)
    let lastFailureLog = Mutex(ContinuousClock.now - .seconds(60))
}
