import Testing
import TickplexModel

@testable import TickplexProtocol

@Suite("Client stream arguments: grammar, aliases, reasons")
struct StreamArgumentTests {
    func parse(_ s: String, _ venue: Venue = .bybitLinear) -> Result<StreamKey, StreamArgument.Rejection> {
        StreamArgument.parse(s, defaultVenue: venue)
    }

    @Test("every kind, with and without venue; symbols upper-cased")
    func accepted() throws {
        #expect(try parse("ticker:BTCUSDT").get() == .ticker("BTCUSDT"))
        #expect(try parse("ticker:btcusdt").get() == .ticker("BTCUSDT"))
        #expect(try parse("trade:ETHUSDT@binance.spot").get() == .trade("ETHUSDT", .binanceSpot))
        #expect(try parse("kline:1h:ETHUSDT").get() == .kline(.h1, "ETHUSDT"))
        #expect(try parse("kline:1M:BTCUSDT@bybit.spot").get() == .kline(.mo1, "BTCUSDT", .bybitSpot))
        #expect(try parse("book:BTCUSDT").get() == .book("BTCUSDT"))
        #expect(try parse("book:50:BTCUSDT").get() == .book("BTCUSDT", depth: 50))
        #expect(try parse("book:1:BTCUSDT").get() == .book("BTCUSDT"))
        #expect(try parse("liquidation:BTCUSDT@binance.usdm").get() == .liquidation("BTCUSDT", .binanceUSDM))
        #expect(try parse("ticker:BTCUSDT", .binanceUSDM).get() == .ticker("BTCUSDT", .binanceUSDM))
    }

    @Test("aliases: tickers.SYMBOL and kline:<bybit minutes>:SYMBOL")
    func aliases() throws {
        #expect(try parse("tickers.BTCUSDT").get() == .ticker("BTCUSDT"))
        #expect(try parse("kline:60:BTCUSDT").get() == .kline(.h1, "BTCUSDT"))
        #expect(try parse("kline:D:BTCUSDT").get() == .kline(.d1, "BTCUSDT"))
        #expect(try parse("kline:240:BTCUSDT").get() == .kline(.h4, "BTCUSDT"))
    }

    @Test(
        "refusals name what was wrong and what is accepted",
        arguments: [
            ("tickers.*", "wildcards are not supported"),
            ("ticker:*", "wildcards are not supported"),
            ("ticker:", "the symbol is empty"),
            ("", "empty argument"),
            ("quote:BTCUSDT", "unknown kind \"quote\"; use one of ticker, trade, kline, book, liquidation"),
            ("BTCUSDT", "unknown kind \"BTCUSDT\" (the form is kind:SYMBOL)"),
            ("ticker:BTCUSDT@kraken", "unknown venue \"kraken\"; use one of bybit.linear"),
            ("kline:7m:BTCUSDT", "unknown kline interval \"7m\"; use one of 1m 3m 5m"),
            ("kline:BTCUSDT", "a kline needs an interval"),
            ("book:0:BTCUSDT", "must be a number from 1 to 1000"),
            ("book:x:BTCUSDT", "must be a number from 1 to 1000"),
            ("ticker:BTC/USDT", "must be 1-30 letters and digits, with - or _ inside"),
            ("ticker:-BTC", "must be 1-30 letters and digits, with - or _ inside"),
            ("ticker:BTC_", "must be 1-30 letters and digits, with - or _ inside"),
            ("ticker:BTC USDT", "must be 1-30 letters and digits, with - or _ inside"),
            ("ticker:a:b:c", "ticker takes the form ticker:SYMBOL[@venue]"),
        ])
    func rejected(_ input: String, _ fragment: String) {
        guard case .failure(let rejection) = parse(input) else {
            Issue.record("\(input) was accepted")
            return
        }
        #expect(rejection.reason.contains(fragment), "\(input): \(rejection.reason)")
    }

    @Test(
        "dated futures and delivery contracts: - and _ inside a symbol are accepted, upper-cased",
        arguments: [
            ("ticker:btc-26dec25", StreamKey.ticker("BTC-26DEC25")),
            ("trade:BTC-26DEC25@bybit.linear", StreamKey.trade("BTC-26DEC25")),
            ("book:50:BTCUSDT_250627@binance.usdm", StreamKey.book("BTCUSDT_250627", depth: 50, .binanceUSDM)),
            ("kline:1h:ETH-27MAR26@bybit.inverse", StreamKey.kline(.h1, "ETH-27MAR26", .bybitInverse)),
        ])
    func datedSymbols(_ input: String, _ expected: StreamKey) {
        guard case .success(let key) = parse(input) else {
            Issue.record("\(input) was refused")
            return
        }
        #expect(key == expected)
    }
}
