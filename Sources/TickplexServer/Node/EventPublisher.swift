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
    private let bus: any MessageBus
    private let store: any LastValueStore
    private let history: any CandleHistory
    private let brand: String
    private let logger: Logger
    private let counters = Counters()
    /// Refusals and connection states go to the hub once it exists (it is built after the publisher).
    private let control = Mutex<(@Sendable (UpstreamNotice) async -> Void)?>(nil)

    /// Ticker prices as they pass (stream name, price text), for the metrics gauges.
    private let priceObserver = Mutex<(@Sendable (String, String) -> Void)?>(nil)

    public func setPriceObserver(_ observer: @escaping @Sendable (String, String) -> Void) {
        priceObserver.withLock { $0 = observer }
    }

    public func setControlHandler(_ handler: @escaping @Sendable (UpstreamNotice) async -> Void) {
        control.withLock { $0 = handler }
    }

    public init(
        bus: any MessageBus, store: any LastValueStore, history: any CandleHistory, brand: String, logger: Logger
    ) {
        self.history = history
        (notices, continuation) = AsyncStream.makeStream(of: UpstreamNotice.self, bufferingPolicy: .unbounded)
        self.bus = bus
        self.store = store
        self.brand = brand
        self.logger = logger
    }

    /// Thread-safe entry point for the upstream pools.
    public func submit(_ notice: UpstreamNotice) {
        continuation.yield(notice)
    }

    public var published: Int { counters.published.withLock { $0 } }
    /// Events that could not be stored or published (the bus was down).
    public var failed: Int { counters.failed.withLock { $0 } }

    public func run() async throws {
        var transformer = Transformer(brand: brand)
        var lastReport = ContinuousClock.now
        var sinceReport = 0
        var lastFailureLog = ContinuousClock.now - .seconds(60)
        await withGracefulShutdownHandler {
            for await notice in notices {
                switch notice {
                case .event(let event):
                    let receivedAt = Int64(Date().timeIntervalSince1970 * 1000)
                    if case .ticker(let ticker) = event.payload, let price = ticker.price,
                        let observe = priceObserver.withLock({ $0 })
                    {
                        observe(event.key.streamName(brand: brand), price)
                    }
                    for encoded in transformer.encode(event, receivedAt: receivedAt) {
                        let bytes = ByteBuffer(bytes: encoded.json)
                        do {
                            if encoded.key.kind != .trade && encoded.key.kind != .liquidation {
                                try await store.set(Self.lastValueKey(encoded.key, brand: brand), bytes)
                            }
                            try await bus.publish(encoded.key.channel(brand: brand), bytes)
                            if let candle = encoded.candle, candle.closed {
                                try await history.add(
                                    series: Self.historyKey(encoded.key, brand: brand), start: candle.start,
                                    candle: ByteBuffer(bytes: Transformer.json(candle)))
                            }
                            counters.published.withLock { $0 += 1 }
                            sinceReport += 1
                        } catch {
                            // While the bus is down every event fails: say so once per 10 s, not per event.
                            let failed = counters.failed.withLock { n -> Int in
                                n += 1
                                return n
                            }
                            if ContinuousClock.now - lastFailureLog >= .seconds(10) {
                                logger.warning("publishing fails (\(failed) so far): \(error)")
                                lastFailureLog = ContinuousClock.now
                            }
                        }
                    }
                case .rejected(let key, let reason):
                    logger.warning("exchange refused \(key): \(reason)")
                    await control.withLock { $0 }?(notice)
                case .status(let venue, let connection, let state):
                    logger.info("upstream \(venue.rawValue)#\(connection): \(state)")
                    await control.withLock { $0 }?(notice)
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
    let published = Mutex(0)
    let failed = Mutex(0)
}
