import Foundation

/// A deterministic random-walk market: the same seed gives the same prices, so tests can reproduce a run.
///
/// Prices are kept as integers of ticks and printed as fixed-point decimal strings, the way exchanges send them
/// (`"65114.30"`): no floating point ever touches a price.
public struct SimMarket: Sendable {
    public struct Instrument: Sendable {
        public let symbol: String
        /// Price in ticks; `decimals` digits after the point.
        public var ticks: Int64
        public let decimals: Int
        public var openTicks: Int64
        public var highTicks: Int64
        public var lowTicks: Int64
        public var volumeMilli: Int64 = 0
        public var turnoverTicks: Int64 = 0
        public var tradeSeq: Int64 = 0
    }

    public private(set) var instruments: [String: Instrument] = [:]
    private var rng: SplitMix64

    /// Symbols with a starting price each (`"BTCUSDT": "65114.30"`).
    public init(seed: UInt64 = 42, prices: [String: String] = SimMarket.defaultPrices) {
        rng = SplitMix64(seed: seed)
        for (symbol, price) in prices {
            let parts = price.split(separator: ".")
            let decimals = parts.count == 2 ? parts[1].count : 0
            let ticks = Int64(price.replacingOccurrences(of: ".", with: "")) ?? 1
            instruments[symbol] = Instrument(
                symbol: symbol, ticks: ticks, decimals: decimals, openTicks: ticks, highTicks: ticks, lowTicks: ticks)
        }
    }

    public static let defaultPrices: [String: String] = [
        "BTCUSDT": "65114.30", "ETHUSDT": "1922.43", "SOLUSDT": "148.215", "DOGEUSDT": "0.12345",
        "XRPUSDT": "0.5149", "BNBUSDT": "580.10",
        // Dated contracts, named as the venues name them: a Bybit future and a Binance quarterly.
        "BTC-26DEC25": "65302.5", "BTCUSDT_250627": "65411.2",
    ]

    public var symbols: Set<String> { Set(instruments.keys) }

    /// Moves one symbol's price by -2…+2 ticks and returns the instrument after the move.
    public mutating func step(_ symbol: String) -> Instrument? {
        guard var i = instruments[symbol] else { return nil }
        let move = Int64(rng.next() % 5) - 2
        i.ticks = max(1, i.ticks + move)
        i.highTicks = max(i.highTicks, i.ticks)
        i.lowTicks = min(i.lowTicks, i.ticks)
        let qty = Int64(rng.next() % 900) + 1
        i.volumeMilli += qty
        i.turnoverTicks += qty * i.ticks / 1000
        i.tradeSeq += 1
        instruments[symbol] = i
        return i
    }

    public mutating func random(_ bound: UInt64) -> UInt64 { rng.next() % bound }

    /// `ticks` as a decimal string with `decimals` places.
    public static func format(_ ticks: Int64, decimals: Int) -> String {
        let negative = ticks < 0
        var digits = String(abs(ticks))
        guard decimals > 0 else { return negative ? "-" + digits : digits }
        if digits.count <= decimals { digits = String(repeating: "0", count: decimals - digits.count + 1) + digits }
        let split = digits.index(digits.endIndex, offsetBy: -decimals)
        return (negative ? "-" : "") + digits[..<split] + "." + digits[split...]
    }
}

extension SimMarket.Instrument {
    public func price(_ offsetTicks: Int64 = 0) -> String { SimMarket.format(ticks + offsetTicks, decimals: decimals) }
    public var high: String { SimMarket.format(highTicks, decimals: decimals) }
    public var low: String { SimMarket.format(lowTicks, decimals: decimals) }
    public var open: String { SimMarket.format(openTicks, decimals: decimals) }
    public var volume: String { SimMarket.format(volumeMilli, decimals: 3) }
    public var turnover: String { SimMarket.format(turnoverTicks, decimals: decimals) }
}

/// A tiny, fast, seedable generator (SplitMix64).
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
