import ServiceLifecycle
import Synchronization
import TickplexModel

/// Turns the node's running totals into per-second rates, once a second, for `/stats` and the live page.
final class StatsSampler: Service, Sendable {
    struct Rates: Sendable, Equatable {
        var inPerSecond = 0.0
        var outPerSecond = 0.0
    }
    private struct Sample {
        var at: ContinuousClock.Instant
        var messagesIn: Int
        var messagesOut: Int
    }

    private let totals: @Sendable () -> (messagesIn: Int, messagesOut: Int)
    private let state = Mutex<(last: Sample?, rates: Rates)>((nil, Rates()))

    init(totals: @escaping @Sendable () -> (messagesIn: Int, messagesOut: Int)) { self.totals = totals }

    var rates: Rates { state.withLock { $0.rates } }

    func sample() {
        let (messagesIn, messagesOut) = totals()
        let now = ContinuousClock.now
        state.withLock { s in
            if let last = s.last {
                let seconds = (now - last.at).inSeconds
                if seconds > 0 {
                    s.rates = Rates(
                        inPerSecond: Double(messagesIn - last.messagesIn) / seconds,
                        outPerSecond: Double(messagesOut - last.messagesOut) / seconds)
                }
            }
            s.last = Sample(at: now, messagesIn: messagesIn, messagesOut: messagesOut)
        }
    }

    func run() async throws {
        sample()
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                self.sample()
            }
        }
    }
}
