public import Synchronization
import TickplexConfig
import TickplexModel
import TickplexVenues

/// What the node may ask of the exchanges, whatever its clients do: connection attempts per 5 minutes per budget
/// group (Bybit: per WebSocket domain; Binance: per host, since its limit is per IP and spot and USD-M are separate
/// services), and a cap on the streams held upstream across every venue (`MAX_UPSTREAM_STREAMS`). Shared by every
/// pool and connection of the node.
public final class UpstreamBudgets: Sendable {
    public struct Limits: Sendable {
        public var bybitAttemptsPer5Min: Int
        public var binanceAttemptsPer5Min: Int
        public var maxStreams: Int
        public init(bybitAttemptsPer5Min: Int = 400, binanceAttemptsPer5Min: Int = 240, maxStreams: Int = 5_000) {
            self.bybitAttemptsPer5Min = bybitAttemptsPer5Min
            self.binanceAttemptsPer5Min = binanceAttemptsPer5Min
            self.maxStreams = maxStreams
        }
    }

    public let limits: Limits
    private let windows = Mutex<[String: AttemptWindow]>([:])
    private let streams = Atomic<Int>(0)
    /// Connection attempts made, and those that had to wait for the budget.
    public let attempts = Atomic<Int>(0)
    public let attemptsDelayed = Atomic<Int>(0)
    /// Streams refused because the node holds `maxStreams` upstream.
    public let streamsRefused = Atomic<Int>(0)

    public init(limits: Limits = .init()) { self.limits = limits }

    static let windowMs: Int64 = 5 * 60 * 1000

    /// The group an endpoint's attempts count against.
    static func group(venue: Venue, url: WebSocketURL) -> String {
        switch venue {
        case .bybitSpot, .bybitLinear, .bybitInverse: "bybit:\(url.host)"
        case .binanceSpot, .binanceUSDM: "binance:\(url.host)"
        }
    }

    /// Books a connection attempt; returns how long to wait before making it.
    func reserveAttempt(venue: Venue, url: WebSocketURL, now: Int64) -> Duration {
        let group = Self.group(venue: venue, url: url)
        let limit =
            switch venue {
            case .bybitSpot, .bybitLinear, .bybitInverse: limits.bybitAttemptsPer5Min
            case .binanceSpot, .binanceUSDM: limits.binanceAttemptsPer5Min
            }
        let waitMs = windows.withLock { windows in
            windows[group, default: AttemptWindow(limit: limit, windowMs: Self.windowMs)].reserve(now: now)
        }
        attempts.add(1, ordering: .relaxed)
        if waitMs > 0 { attemptsDelayed.add(1, ordering: .relaxed) }
        return .milliseconds(waitMs)
    }

    /// Attempts in the last 5 minutes per group, for `/stats`.
    public func attemptsInWindow(now: Int64) -> [String: Int] {
        windows.withLock { $0.mapValues { $0.inWindow(now: now) } }
    }

    /// Takes a place for a new upstream stream; false (and counted) at the cap.
    func takeStream() -> Bool {
        guard streams.incrementIfBelow(limits.maxStreams) else {
            streamsRefused.add(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func returnStream() { streams.subtract(1, ordering: .relaxed) }

    /// Streams held upstream now, all venues.
    public var streamCount: Int { streams.load(ordering: .relaxed) }
}
