import Foundation
import Synchronization
import Testing
import TickplexSimulator
import TickplexTestSupport

/// The node stays inside what the exchange allows one IP, whatever its clients do: the real binary against an
/// independent simulator that records every connection it accepted.
@Suite("Budgets toward the exchange against the real binary", .serialized)
struct ExchangeBudgetTests {
    @Test(
        "churn of made-up Binance symbols and cut connections cannot push attempts past the budget; /stats < 200 ms")
    func churn() async throws {
        let sim = try await ExchangeSimulator.start(.init())
        var env = upstreamEnv(at: sim)
        // The budgets are the second line: with the catalogue not loaded (its hosts unreachable), made-up symbols
        // reach the exchange and only the budgets stand between the churn and a ban. (With it loaded, they are
        // refused before any request: CatalogueTests.)
        env = TestNetwork.restUnreachable(env)
        env["UPSTREAM_LINGER_S"] = "0"
        env["BINANCE_CONNECT_BUDGET_PER_5MIN"] = "3"
        env["MAX_NEW_STREAMS_PER_CLIENT_PER_MIN"] = "1000000"
        env["MAX_UPSTREAM_STREAMS"] = "1000000"
        try await TickplexProcess.serving(env) { port, _ in
            let churner = WireClient(port: port)
            let scrapes = ScrapeLog()
            let scraper = Task {
                while !Task.isCancelled {
                    let started = ContinuousClock.now
                    let ok = (try? await httpGet(port: port, "/stats", timeout: .seconds(5)).status) == 200
                    scrapes.add(ok ? ContinuousClock.now - started : .seconds(99))
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            // Fresh symbols subscribed and unsubscribed, 40 every 50 ms for 12 s (the attack that opened 48 exchange
            // connections in 20 s, scaled to what a debug build on a shared 2-core machine sustains).
            let deadline = ContinuousClock.now + .seconds(12)
            var round = 0
            while ContinuousClock.now < deadline {
                let args = (0..<40).map { "\"trade:Z\(round)X\($0)USDT@binance.spot\"" }.joined(separator: ",")
                churner.send(#"{"op":"subscribe","args":[\#(args)]}"#)
                churner.send(#"{"op":"unsubscribe","args":[\#(args)]}"#)
                round += 1
                // And the exchange cuts every connection twice a second: each reconnect is an attempt too.
                if round % 10 == 0 { await sim.dropAll() }
                try await Task.sleep(for: .milliseconds(50))
            }
            scraper.cancel()
            let binance = await sim.connections().filter { $0.venue.hasPrefix("binance") }
            #expect(binance.count <= 3, "the exchange saw \(binance.count) connections")
            #expect(binance.count >= 1, "the churn reached the exchange at all")
            let durations = scrapes.all
            #expect(durations.count >= 30, "\(durations.count) scrapes")
            let slowest = durations.max() ?? .zero
            #expect(slowest < .milliseconds(200), "slowest /stats \(slowest)")
            let stats = try #require(jsonObject(try await httpGet(port: port, "/stats").body))
            let limits = try #require(stats["limits"] as? [String: Any])
            #expect((limits["upstreamConnectAttemptsDelayed"] as? Int ?? 0) >= 1, "\(limits)")
            churner.close()
        }
        await sim.stop()
    }

    @Test("MAX_NEW_STREAMS_PER_CLIENT_PER_MIN and MAX_UPSTREAM_STREAMS refuse with a sentence and are counted")
    func streamBudgets() async throws {
        let sim = try await ExchangeSimulator.start(.init())
        var env = upstreamEnv(at: sim)
        // Made-up symbols must pass the catalogue for the stream budgets to be what refuses them.
        env = TestNetwork.restUnreachable(env)
        env["MAX_NEW_STREAMS_PER_CLIENT_PER_MIN"] = "5"
        env["MAX_UPSTREAM_STREAMS"] = "8"
        try await TickplexProcess.serving(env) { port, _ in
            let a = WireClient(port: port)
            let args = (0..<7).map { "\"ticker:A\($0)USDT@binance.spot\"" }.joined(separator: ",")
            a.send(#"{"op":"subscribe","args":[\#(args)],"req_id":"a"}"#)
            #expect(await eventually { a.replies("subscription_error").count == 2 })
            let refused = a.replies("subscription_error")
            #expect(
                refused.allSatisfy { ($0["reason"] as? String)?.contains("MAX_NEW_STREAMS_PER_CLIENT_PER_MIN") == true }
            )
            // Joining streams that already exist costs nothing.
            let b = WireClient(port: port)
            let existing = (0..<5).map { "\"ticker:A\($0)USDT@binance.spot\"" }.joined(separator: ",")
            b.send(#"{"op":"subscribe","args":[\#(existing)]}"#)
            #expect(await eventually { (b.replies("subscribe").first?["args"] as? [String])?.count == 5 })
            try await Task.sleep(for: .seconds(1))
            #expect(b.replies("subscription_error").isEmpty)
            // 5 held, cap 8: of 5 more from a third client, 2 are refused for the cap.
            let c = WireClient(port: port)
            let more = (0..<5).map { "\"ticker:C\($0)USDT@binance.spot\"" }.joined(separator: ",")
            c.send(#"{"op":"subscribe","args":[\#(more)]}"#)
            #expect(await eventually { c.replies("subscription_error").count == 2 })
            #expect(
                c.replies("subscription_error").allSatisfy {
                    ($0["reason"] as? String)?.contains("MAX_UPSTREAM_STREAMS") == true
                })
            let stats = try #require(jsonObject(try await httpGet(port: port, "/stats").body))
            let limits = try #require(stats["limits"] as? [String: Any])
            #expect(limits["newStreamRefusals"] as? Int == 2)
            #expect(limits["upstreamStreamRefusals"] as? Int == 2)
            #expect(limits["upstreamStreams"] as? Int == 8)
            let metrics = try await httpGet(port: port, "/metrics").body
            #expect(metrics.contains("tickplex_new_stream_refusals_total 2"))
            for client in [a, b, c] { client.close() }
        }
        await sim.stop()
    }
}

final class ScrapeLog: Sendable {
    private let durations = Mutex<[Duration]>([])
    func add(_ d: Duration) { durations.withLock { $0.append(d) } }
    var all: [Duration] { durations.withLock { $0 } }
}

@Suite("On-demand quotes spend the new-stream budget", .serialized)
struct QuoteBudgetTests {
    @Test(
        "REST quotes of streams new to the node spend MAX_NEW_STREAMS_PER_CLIENT_PER_MIN: past it 429; a made-up token buys nothing"
    )
    func quoteBudget() async throws {
        let sim = try await ExchangeSimulator.start(.init())
        var env = upstreamEnv(at: sim)
        // Made-up symbols must pass the catalogue (not loaded here) for the budget to be what refuses them.
        env = TestNetwork.restUnreachable(env)
        env["MAX_NEW_STREAMS_PER_CLIENT_PER_MIN"] = "2"
        env["QUOTE_WAIT_MS"] = "300"
        try await TickplexProcess.serving(env) { port, _ in
            // Binance accepts any symbol and sends nothing for a made-up one: 504 after the wait, budget spent.
            var statuses: [Int] = []
            for (i, token) in ["", "", "?token=fresh-1", "?token=fresh-2"].enumerated() {
                statuses.append(
                    try await httpGet(
                        port: port, "/v1/quote/Q\(i)USDT\(token.isEmpty ? "?" : token + "&")venue=binance.spot"
                    ).status)
            }
            #expect(statuses == [504, 504, 429, 429], "\(statuses)")
            let refused = try await httpGet(port: port, "/v1/quote/Q9USDT?venue=binance.spot")
            #expect(refused.status == 429)
            #expect(refused.body.contains("MAX_NEW_STREAMS_PER_CLIENT_PER_MIN"))
            // A stream the node already carries costs nothing: asking for Q0 again is not refused for the budget.
            #expect(try await httpGet(port: port, "/v1/quote/Q0USDT?venue=binance.spot").status != 429)
            let stats = try #require(jsonObject(try await httpGet(port: port, "/stats").body))
            #expect((stats["limits"] as? [String: Any])?["newStreamRefusals"] as? Int == 3)
        }
        await sim.stop()
    }
}
