/// What a client can stream: `ticker | trade | kline | book | liquidation`.
public enum StreamKind: String, Sendable, Hashable, CaseIterable, Codable {
    case ticker, trade, kline, book, liquidation
}

/// Candle intervals of the wire contract. Each venue maps them to its own names; one a venue lacks is rejected.
public enum KlineInterval: String, Sendable, Hashable, CaseIterable, Codable {
    case m1 = "1m"
    case m3 = "3m"
    case m5 = "5m"
    case m15 = "15m"
    case m30 = "30m"
    case h1 = "1h"
    case h2 = "2h"
    case h4 = "4h"
    case h6 = "6h"
    case h12 = "12h"
    case d1 = "1d"
    case w1 = "1w"
    case mo1 = "1M"

    /// Length in milliseconds (a month counts as 30 days; only used for sanity checks).
    public var milliseconds: Int64 {
        switch self {
        case .m1: 60_000
        case .m3: 180_000
        case .m5: 300_000
        case .m15: 900_000
        case .m30: 1_800_000
        case .h1: 3_600_000
        case .h2: 7_200_000
        case .h4: 14_400_000
        case .h6: 21_600_000
        case .h12: 43_200_000
        case .d1: 86_400_000
        case .w1: 604_800_000
        case .mo1: 2_592_000_000
        }
    }

    /// Bybit's name for the interval (`1 3 5 15 30 60 120 240 360 720 D W M`); also the client alias
    /// `kline:<bybit minutes>:SYMBOL`.
    public var bybitName: String {
        switch self {
        case .m1: "1"
        case .m3: "3"
        case .m5: "5"
        case .m15: "15"
        case .m30: "30"
        case .h1: "60"
        case .h2: "120"
        case .h4: "240"
        case .h6: "360"
        case .h12: "720"
        case .d1: "D"
        case .w1: "W"
        case .mo1: "M"
        }
    }

    public init?(bybitName: String) {
        guard let match = Self.allCases.first(where: { $0.bybitName == bybitName }) else { return nil }
        self = match
    }

    public static var allowedList: String { allCases.map(\.rawValue).joined(separator: " ") }
}

/// One stream of one symbol on one venue: the unit of subscription, reference counting and fan-out.
public struct StreamKey: Sendable, Hashable, CustomStringConvertible {
    public var venue: Venue
    public var kind: StreamKind
    /// Upper-case exchange symbol (`BTCUSDT`).
    public var symbol: String
    /// Kline streams only.
    public var interval: KlineInterval?
    /// Book streams only: `nil` = top of book, otherwise the number of levels kept and sent.
    public var depth: Int?

    public init(venue: Venue, kind: StreamKind, symbol: String, interval: KlineInterval? = nil, depth: Int? = nil) {
        self.venue = venue
        self.kind = kind
        self.symbol = symbol
        self.interval = interval
        self.depth = depth
    }

    public static func ticker(_ symbol: String, _ venue: Venue = .bybitLinear) -> StreamKey {
        StreamKey(venue: venue, kind: .ticker, symbol: symbol)
    }

    public static func trade(_ symbol: String, _ venue: Venue = .bybitLinear) -> StreamKey {
        StreamKey(venue: venue, kind: .trade, symbol: symbol)
    }

    public static func kline(_ interval: KlineInterval, _ symbol: String, _ venue: Venue = .bybitLinear) -> StreamKey {
        StreamKey(venue: venue, kind: .kline, symbol: symbol, interval: interval)
    }

    public static func book(_ symbol: String, depth: Int? = nil, _ venue: Venue = .bybitLinear) -> StreamKey {
        StreamKey(venue: venue, kind: .book, symbol: symbol, depth: depth)
    }

    public static func liquidation(_ symbol: String, _ venue: Venue = .bybitLinear) -> StreamKey {
        StreamKey(venue: venue, kind: .liquidation, symbol: symbol)
    }

    /// The middle part shared by stream names and channels: `kind[.interval|.depth]`.
    private func kindPath(separator: String) -> String {
        if let interval { return "\(kind.rawValue)\(separator)\(interval.rawValue)" }
        if let depth { return "\(kind.rawValue)\(separator)\(depth)" }
        return kind.rawValue
    }

    /// `<brand>.<venue>.<kind>[.<interval>].<SYMBOL>`, the `stream` field of data messages.
    public func streamName(brand: String) -> String {
        "\(brand).\(venue.rawValue).\(kindPath(separator: ".")).\(symbol)"
    }

    /// `<brand>:<venue>:<kind>[:<interval>]:<SYMBOL>`, the bus channel.
    public func channel(brand: String) -> String {
        "\(brand):\(venue.rawValue):\(kindPath(separator: ":")):\(symbol)"
    }

    /// The client-facing argument, canonical form: `kline:1h:BTCUSDT@bybit.linear`.
    public var argument: String {
        var parts = [kind.rawValue]
        if let interval { parts.append(interval.rawValue) }
        if let depth { parts.append(String(depth)) }
        parts.append(symbol)
        return parts.joined(separator: ":") + "@" + venue.rawValue
    }

    public var description: String { argument }
}
