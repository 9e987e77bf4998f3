import Foundation
import Testing
import TickplexModel
import TickplexServer
import TickplexSimulator
import TickplexTestSupport
import TickplexUpstream

/// `/v1/klines` for series nobody streamed: the exchange's candles, asked once and kept.
@Suite("GET /v1/klines fills from the exchange's REST klines")
struct KlineBackfillTests {
    static func candles(_ body: String) -> [[String: Any]] { jsonObject(body)?["candles"] as? [[String: Any]] ?? [] }

    @Test(
        "a never-subscribed symbol: the exchange's candles, equal to what its REST answers; the current one open; kept",
        arguments: [("ETHUSDT", "bybit.linear"), ("ETHUSDT", "binance.spot"), ("BTCUSDT", "binance.usdm")])
    func neverSubscribed(symbol: String, venue: String) async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            let sim = try #require(node.simulator)
            let (status, body) = try await httpGet(
                port: port, "/v1/klines?symbol=\(symbol)&interval=1h&limit=100&venue=\(venue)")
            #expect(status == 200, "\(body)")
            let got = Self.candles(body)
            #expect(got.count == 100)
            #expect(got.dropLast().allSatisfy { $0["closed"] as? Bool == true })
            #expect(got.last?["closed"] as? Bool == false, "the running hour is open")
            let starts = got.compactMap { ($0["start"] as? NSNumber)?.int64Value }
            #expect(zip(starts.dropFirst(), starts).allSatisfy { $0 - $1 == 3_600_000 }, "contiguous, ascending")
            // The exchange's own answer for the same hours, asked directly.
            let path =
                venue.hasPrefix("bybit")
                ? "/v5/market/kline?category=linear&symbol=\(symbol)&interval=60&limit=100"
                : venue == "binance.spot"
                    ? "/api/v3/klines?symbol=\(symbol)&interval=1h&limit=100"
                    : "/fapi/v1/klines?symbol=\(symbol)&interval=1h&limit=100"
            let direct = try await httpGet(port: Int(sim.restBaseURL.split(separator: ":").last!)!, path).body
            let opens = Self.exchangeOpens(direct, bybit: venue.hasPrefix("bybit"))
            #expect(
                Dictionary(
                    uniqueKeysWithValues: got.map { (($0["start"] as! NSNumber).int64Value, $0["open"] as! String) }
                )
                .filter { opens[$0.key] != nil } == opens.filter { Set(starts).contains($0.key) })
            // Kept: asked again, the closed ones come from the store (no further REST request for them).
            let klinePaths = ["/v5/market/kline", "/api/v3/klines", "/fapi/v1/klines"]
            let asked = await sim.restCounters().byPath.filter { klinePaths.contains($0.key) }.values.reduce(0, +)
            let again = Self.candles(
                try await httpGet(
                    port: port, "/v1/klines?symbol=\(symbol)&interval=1h&limit=99&to=\(starts[98])&venue=\(venue)"
                ).body)
            #expect(again.count == 99 && again.allSatisfy { $0["closed"] as? Bool == true })
            let after = await sim.restCounters().byPath.filter { klinePaths.contains($0.key) }.values.reduce(0, +)
            #expect(after == asked, "the closed candles came from the store")
        }
    }

    @Test("an unlisted symbol: 404 with the catalogue's sentence, and no REST klines request")
    func unlisted() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            #expect(await eventually { node.catalogue.snapshot[.bybitLinear]?.loadedAt != nil })
            let sim = try #require(node.simulator)
            let (status, body) = try await httpGet(port: port, "/v1/klines?symbol=NOPEUSDT&interval=1h")
            #expect(status == 404 && body.contains("NOPEUSDT is not listed on bybit.linear"), "\(body)")
            #expect(
                await sim.restCounters().byPath["/v5/market/kline"] == nil, "no klines request reached the exchange")
        }
    }

    /// start → open from a raw REST kline body.
    static func exchangeOpens(_ body: String, bybit: Bool) -> [Int64: String] {
        guard let data = body.data(using: .utf8), let json = try? JSONSerialization.jsonObject(with: data) else {
            return [:]
        }
        let rows: [[Any]] =
            bybit
            ? (((json as? [String: Any])?["result"] as? [String: Any])?["list"] as? [[Any]] ?? [])
            : (json as? [[Any]] ?? [])
        var out: [Int64: String] = [:]
        for row in rows {
            let start = bybit ? Int64(row[0] as? String ?? "") : (row[0] as? NSNumber)?.int64Value
            if let start, let open = row[1] as? String { out[start] = open }
        }
        return out
    }
}
