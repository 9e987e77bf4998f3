import Testing

@testable import TickplexVenues

/// An exchange may send any value: the adapters never trap on one (no arithmetic that can overflow).
@Suite("Extreme exchange values decode or are refused, never trap")
struct ExtremeExchangeValueTests {
    func book(u: String) -> String {
        #"{"topic":"orderbook.50.BTCUSDT","ts":1,"type":"snapshot","data":{"s":"BTCUSDT","b":[["1","1"]],"a":[["2","1"]],"u":\#(u),"seq":1},"cts":1}"#
    }

    @Test("a book snapshot at u = Int64.max, then a delta: a resync, not an overflow trap")
    func updateIdAtMax() throws {
        var a = BybitAdapter(category: .linear)
        _ = try a.decode(book(u: String(Int64.max)), receivedAt: 1)
        // (u == 1 is not among them: it is a service restart, which overwrites the book.)
        for next in [String(Int64.max), String(Int64.min), "0", "2"] {
            let delta =
                #"{"topic":"orderbook.50.BTCUSDT","ts":2,"type":"delta","data":{"s":"BTCUSDT","b":[],"a":[],"u":\#(next),"seq":2},"cts":2}"#
            let out = try a.decode(delta, receivedAt: 2)
            #expect(out.allSatisfy { if case .resync = $0 { true } else { false } } || out.isEmpty, "\(out)")
        }
    }

    @Test(
        "integers past Int64 are a decode error, not a trap",
        arguments: ["9223372036854775808", "1e400", "-99999999999999999999"])
    func hugeIntegers(value: String) {
        var a = BybitAdapter(category: .linear)
        #expect(throws: VenueDecodeError.self) { try a.decode(book(u: value), receivedAt: 1) }
    }
}
