public import TickplexModel

/// Parses client stream arguments (the wire contract's grammar):
///
///     arg = kind ":" [interval ":" | depth ":"] SYMBOL ["@" venue]
///
/// plus the aliases existing clients use: `tickers.SYMBOL` (= `ticker:SYMBOL`) and `kline:<bybit minutes>:SYMBOL`
/// (`kline:60:BTCUSDT` = `kline:1h:BTCUSDT`). Symbols are upper-cased. Every refusal is a sentence saying what was
/// wrong and what is accepted.
public enum StreamArgument {
    public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    public static let maxSymbolLength = 30
    public static let maxArgumentLength = 64

    public static func parse(_ raw: String, defaultVenue: Venue) -> Result<StreamKey, Rejection> {
        let arg = raw.trimmingSpaces
        guard !arg.isEmpty else {
            return .failure(.init("empty argument; use kind:SYMBOL such as ticker:BTCUSDT"))
        }
        guard arg.count <= maxArgumentLength else {
            return .failure(.init("argument longer than \(maxArgumentLength) characters"))
        }
        guard !arg.contains("*") else {
            return .failure(.init("wildcards are not supported; subscribe to each symbol, e.g. ticker:BTCUSDT"))
        }
        // Alias: tickers.SYMBOL
        if arg.hasPrefix("tickers.") {
            return symbolAndVenue(String(arg.dropFirst("tickers.".count)), defaultVenue: defaultVenue).map {
                StreamKey(venue: $0.venue, kind: .ticker, symbol: $0.symbol)
            }
        }
        let parts = arg.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let kind = StreamKind(rawValue: parts[0].lowercased()) else {
            let hint = parts.count == 1 ? " (the form is kind:SYMBOL)" : ""
            return .failure(
                .init(
                    "unknown kind \"\(parts[0])\"\(hint); use one of ticker, trade, kline, book, liquidation, e.g. ticker:BTCUSDT"
                ))
        }
        switch (kind, parts.count) {
        case (.kline, 3):
            let name = parts[1]
            guard let interval = KlineInterval(rawValue: name) ?? KlineInterval(bybitName: name) else {
                return .failure(
                    .init(
                        "unknown kline interval \"\(name)\"; use one of \(KlineInterval.allowedList), e.g. kline:1h:BTCUSDT"
                    ))
            }
            return symbolAndVenue(parts[2], defaultVenue: defaultVenue).map {
                StreamKey(venue: $0.venue, kind: .kline, symbol: $0.symbol, interval: interval)
            }
        case (.kline, _):
            return .failure(
                .init("a kline needs an interval: kline:<interval>:SYMBOL with one of \(KlineInterval.allowedList)"))
        case (.book, 3):
            guard let depth = Int(parts[1]), (1...1000).contains(depth) else {
                return .failure(
                    .init("book depth \"\(parts[1])\" must be a number from 1 to 1000, e.g. book:50:BTCUSDT"))
            }
            return symbolAndVenue(parts[2], defaultVenue: defaultVenue).map {
                StreamKey(venue: $0.venue, kind: .book, symbol: $0.symbol, depth: depth == 1 ? nil : depth)
            }
        case (_, 2):
            return symbolAndVenue(parts[1], defaultVenue: defaultVenue).map {
                StreamKey(venue: $0.venue, kind: kind, symbol: $0.symbol)
            }
        default:
            return .failure(
                .init("\(kind.rawValue) takes the form \(kind.rawValue):SYMBOL[@venue], e.g. \(kind.rawValue):BTCUSDT"))
        }
    }

    /// What the venues list: letters and digits, and `-` / `_` between them (Bybit dated futures `BTC-26DEC25`,
    /// Binance delivery contracts `BTCUSDT_250627`).
    static func isSymbol(_ symbol: String) -> Bool {
        guard let first = symbol.first, let last = symbol.last else { return false }
        func alnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
        return alnum(first) && alnum(last) && symbol.allSatisfy { alnum($0) || $0 == "-" || $0 == "_" }
    }

    private static func symbolAndVenue(_ text: String, defaultVenue: Venue) -> Result<
        (symbol: String, venue: Venue), Rejection
    > {
        var symbolPart = Substring(text)
        var venue = defaultVenue
        if let at = text.firstIndex(of: "@") {
            symbolPart = text[..<at]
            let name = text[text.index(after: at)...].lowercased()
            guard let v = Venue(rawValue: name) else {
                return .failure(.init("unknown venue \"\(name)\"; use one of \(Venue.allowedList)"))
            }
            venue = v
        }
        let symbol = symbolPart.uppercased()
        guard !symbol.isEmpty else { return .failure(.init("the symbol is empty; e.g. ticker:BTCUSDT")) }
        guard symbol.count <= maxSymbolLength, isSymbol(symbol) else {
            return .failure(
                .init(
                    "symbol \"\(symbolPart)\" must be 1-\(maxSymbolLength) letters and digits, with - or _ inside "
                        + "(BTCUSDT, BTC-26DEC25, BTCUSDT_250627)"))
        }
        return .success((symbol, venue))
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
