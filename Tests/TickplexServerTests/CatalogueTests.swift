import Foundation
import Testing
import TickplexModel
import TickplexServer
import TickplexSimulator
import TickplexTestSupport
import TickplexUpstream

/// The instrument catalogue, loaded over REST from the simulator: unlisted symbols refused before any upstream
/// request, a new listing picked up by the refresh, and a catalogue that cannot load reported, not fatal.
@Suite("Instrument catalogue end to end (UPSTREAM=sim)")
struct CatalogueTests {
    @Test("NOPEUSDT on both venues: refused at once with a sentence, REST 404, and not one upstream request")
    func unknownRefused() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            #expect(await eventually { catalogueLoaded(node) }, "catalogue loaded from the simulator's REST")
            let sim = try #require(node.simulator)
            let c = WireClient(port: port)
            c.send(#"{"op":"ping"}"#)
            #expect(await eventually { !c.replies("pong").isEmpty })
            let started = ContinuousClock.now
            c.send(#"{"op":"subscribe","args":["ticker:NOPEUSDT@binance.spot","trade:NOPEUSDT@bybit.linear"]}"#)
            #expect(await eventually { c.replies("subscription_error").count == 2 })
            #expect(ContinuousClock.now - started < .seconds(2), "at once, not after an exchange round trip")
            let reasons = Set(c.replies("subscription_error").compactMap { $0["reason"] as? String })
            #expect(reasons == ["NOPEUSDT is not listed on binance.spot", "NOPEUSDT is not listed on bybit.linear"])
            let (status, body) = try await httpGet(port: port, "/v1/quote/NOPEUSDT?venue=binance.spot")
            #expect(status == 404, "\(body)")
            #expect(jsonObject(body)?["reason"] as? String == "NOPEUSDT is not listed on binance.spot")
            let requests = await sim.connections().flatMap(\.requests) + (await sim.connections()).map(\.path)
            #expect(!requests.contains { $0.lowercased().contains("nopeusdt") }, "no upstream request for it")
            // A listed symbol still flows.
            c.send(#"{"op":"subscribe","args":["ticker:ETHUSDT@binance.spot"]}"#)
            #expect(await eventually { !c.data(for: "tickplex.binance.spot.ticker.ETHUSDT").isEmpty })
            let health = try #require(jsonObject(try await httpGet(port: port, "/health").body))
            let catalogue = try #require(health["catalogue"] as? [String: [String: Any]])
            #expect(catalogue["binance.spot"]?["state"] as? String == "loaded")
            #expect((catalogue["bybit.linear"]?["symbols"] as? NSNumber)?.intValue ?? 0 >= 6)
            // The REST requests behind it, in /stats and /metrics.
            let stats = try #require(jsonObject(try await httpGet(port: port, "/stats").body))
            let rest = try #require(stats["rest"] as? [String: [String: Any]])
            #expect((rest["bybit"]?["requests"] as? NSNumber)?.intValue ?? 0 >= 3, "one per category at least")
            #expect((rest["binance.spot"]?["weight"] as? NSNumber)?.intValue ?? 0 >= 20, "exchangeInfo weighs 20")
            #expect((rest["binance.spot"]?["exchangeUsedWeight"] as? NSNumber)?.intValue ?? 0 >= 20)
            let metrics = try await httpGet(port: port, "/metrics").body
            #expect(metrics.contains(#"tickplex_rest_requests_total{host="binance.usdm"}"#))
            c.close()
        }
    }

    @Test("an unlisted symbol costs nothing: the new-stream budget is left for listed ones (WebSocket and REST)")
    func unlistedCostsNothing() async throws {
        try await withNode(["UPSTREAM": "sim", "MAX_NEW_STREAMS_PER_CLIENT_PER_MIN": "1"]) { port, node in
            #expect(await eventually { catalogueLoaded(node) })
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["ticker:NOPE1USDT","ticker:NOPE2USDT","ticker:NOPE3USDT"]}"#)
            #expect(await eventually { c.replies("subscription_error").count == 3 })
            #expect(
                c.replies("subscription_error").allSatisfy { ($0["reason"] as? String)?.contains("not listed") == true }
            )
            c.send(#"{"op":"subscribe","args":["ticker:SOLUSDT"]}"#)
            #expect(await eventually { !c.data(for: "tickplex.bybit.linear.ticker.SOLUSDT").isEmpty })
            for i in 0..<3 {
                #expect(try await httpGet(port: port, "/v1/quote/NOPE\(i)USDT").status == 404)
            }
            let stats = try #require(jsonObject(try await httpGet(port: port, "/stats").body))
            #expect((stats["limits"] as? [String: Any])?["newStreamRefusals"] as? Int == 0)
            c.close()
        }
    }

    @Test("a symbol listed after start is accepted once the catalogue refreshes (CATALOGUE_REFRESH_S=10)")
    func refreshPicksUpListing() async throws {
        try await withNode(["UPSTREAM": "sim", "CATALOGUE_REFRESH_S": "10"]) { port, node in
            #expect(await eventually { catalogueLoaded(node) })
            let sim = try #require(node.simulator)
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["trade:FRESHUSDT@binance.spot"]}"#)
            #expect(await eventually { !c.replies("subscription_error").isEmpty })
            await sim.list("FRESHUSDT", on: .binanceSpot)
            #expect(
                await eventually(timeout: .seconds(20)) {
                    node.catalogue.snapshot[.binanceSpot]?.symbols.contains("FRESHUSDT") == true
                })
            let before = c.replies("subscription_error").count
            c.send(#"{"op":"subscribe","args":["trade:FRESHUSDT@binance.spot"]}"#)
            #expect(await eventually { c.replies("subscribe").contains { $0["success"] as? Bool == true } })
            #expect(await eventually { await sim.connections().flatMap(\.subscribed).contains("freshusdt@trade") })
            #expect(c.replies("subscription_error").count == before)
            c.close()
        }
    }

    @Test("REST hosts unreachable: /health stays healthy with a warning, and streams are served unchecked")
    func unreachable() async throws {
        let sim = try await ExchangeSimulator.start()
        var env = upstreamEnv(at: sim)
        env = TestNetwork.restUnreachable(env)
        try await withNode(env) { port, node in
            #expect(await eventually { node.catalogue.snapshot[.bybitLinear]?.lastError != nil })
            let (status, body) = try await httpGet(port: port, "/health")
            #expect(status == 200, "\(body)")
            let health = try #require(jsonObject(body))
            let warnings = health["warnings"] as? [String] ?? []
            #expect(warnings.contains { $0.hasPrefix("catalogue bybit.linear: not loaded") }, "\(warnings)")
            let c = WireClient(port: port)
            c.send(#"{"op":"subscribe","args":["ticker:BTCUSDT"]}"#)
            #expect(await eventually { !c.data(for: "tickplex.bybit.linear.ticker.BTCUSDT").isEmpty })
            c.close()
        }
        await sim.stop()
    }
}
