import Logging
import ServiceLifecycle
import Synchronization
import TickplexModel
import TickplexUpstream

/// Refusals and connection states from the upstream pools, on a path of their own: never queued behind market
/// data in the publisher, never dropped with it when that input is full. They go to the refusal book, waiting
/// quotes and the hub's clients. Bounded all the same (a pool emits them per topic and per connection change).
struct ControlRelay: Service {
    /// Where the pools put their control notices; made before the hub exists, read by the relay once it does.
    struct Sink: Sendable {
        fileprivate let continuation: AsyncStream<UpstreamNotice>.Continuation
        fileprivate let dropped: Dropped

        func submit(_ notice: UpstreamNotice) {
            if case .dropped = continuation.yield(notice) { dropped.count.add(1, ordering: .relaxed) }
        }
        var droppedCount: Int { dropped.count.load(ordering: .relaxed) }
    }

    final class Dropped: Sendable { let count = Atomic<Int>(0) }

    static let bound = 4_096

    static func makeChannel() -> (AsyncStream<UpstreamNotice>, Sink) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: UpstreamNotice.self, bufferingPolicy: .bufferingNewest(bound))
        return (stream, Sink(continuation: continuation, dropped: Dropped()))
    }

    let notices: AsyncStream<UpstreamNotice>
    let logger: Logger
    let handle: @Sendable (UpstreamNotice) async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await notice in notices {
                switch notice {
                case .rejected(let key, let reason): logger.warning("exchange refused \(key): \(reason)")
                case .status(let venue, let connection, let state):
                    logger.info("upstream \(venue.rawValue)#\(connection): \(state)")
                case .event: continue
                }
                await handle(notice)
            }
        }
    }
}
