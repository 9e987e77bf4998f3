import Foundation
import Testing

@testable import TickplexVenues

@Suite("Every recorded sample decodes")
struct SampleDecodeTests {
    static func bybitCategory(_ url: URL) -> BybitAdapter.Category {
        let name = url.lastPathComponent
        if name.contains("spot") { return .spot }
        if name.contains("inverse") { return .inverse }
        if name.contains("option") { return .option }
        return .linear
    }

    @Test("every Bybit sample file decodes without error and yields data")
    func bybitFiles() throws {
        let files = try Samples.files("bybit")
        #expect(files.count >= 30, "samples found at \(Samples.root.path)")
        for file in files {
            var adapter = BybitAdapter(category: Self.bybitCategory(file))
            var events = 0
            for (n, frame) in try Samples.frames(of: file).enumerated() {
                do {
                    for message in try adapter.decode(frame, receivedAt: 0) {
                        if case .event = message { events += 1 }
                    }
                } catch {
                    Issue.record("\(file.lastPathComponent):\(n + 1): \(error)")
                }
            }
            let isControl = file.lastPathComponent.hasPrefix("control") || file.lastPathComponent.hasPrefix("requests")
            #expect(isControl || events > 0, "\(file.lastPathComponent) produced no events")
        }
    }

    @Test("every Binance sample file decodes without error")
    func binanceFiles() throws {
        let files = try Samples.files("binance")
        #expect(files.count >= 25)
        for file in files {
            var adapter = BinanceAdapter(market: file.path.contains("futures_usdm") ? .usdm : .spot)
            for (n, frame) in try Samples.frames(of: file).enumerated() {
                do {
                    _ = try adapter.decode(frame, receivedAt: 0)
                } catch {
                    Issue.record("\(file.lastPathComponent):\(n + 1): \(error)")
                }
            }
        }
    }

    @Test(
        "malformed frames are errors, not crashes",
        arguments: [
            "", "{", "[1,2", "not json", "{\"topic\":\"tickers.X\"}",
            "{\"topic\":\"publicTrade.X\",\"data\":[{\"p\":\"1\"}]}",
            "{\"topic\":\"orderbook.50.X\",\"type\":\"snapshot\",\"data\":{\"b\":[[\"x\",\"1\"]],\"a\":[],\"u\":1}}",
            "42",
        ])
    func malformedBybit(_ frame: String) {
        var adapter = BybitAdapter(category: .linear)
        #expect(throws: VenueDecodeError.self) { try adapter.decode(frame, receivedAt: 0) }
    }

    @Test(
        "malformed Binance frames are errors",
        arguments: [
            "{", "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"p\":\"1\"}}",
            "{\"stream\":\"btcusdt@kline_1m\",\"data\":{\"e\":\"kline\"}}", "\"text\"",
        ])
    func malformedBinance(_ frame: String) {
        var adapter = BinanceAdapter(market: .spot)
        #expect(throws: VenueDecodeError.self) { try adapter.decode(frame, receivedAt: 0) }
    }
}
