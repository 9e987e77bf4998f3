import Foundation
import HTTPTypes
import NIOCore
import Testing
import TickplexBus
import TickplexServer
import TickplexTestSupport

/// Drives a real browser: Scripts/test runs this suite on its own.
@Suite("GET /: the live page")
struct LivePageTests {
    /// Debian's `chromium` (Scripts/test installs it), or another Chromium on PATH.
    static let chromium: String? = ["chromium", "chromium-browser", "google-chrome"].lazy
        .compactMap { try? ExecutableLocator.onPath($0) }.first

    @Test("served by the binary as one self-contained HTML page: no CDN, no external resource")
    func selfContained() async throws {
        try await withNode([:]) { port, _ in
            let (status, headers, body) = try await httpRequest(port: port, .get, "/")
            #expect(status == 200)
            #expect(headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(body.contains("/ws") && body.contains("/stats"))
            for external in ["src=\"http", "href=\"http", "@import", "url(http", "//cdn", "<link"] {
                #expect(!body.contains(external), "no external resource: \(external)")
            }
        }
    }

    @Test(
        "in headless Chromium against a running node + simulator: live ticker values and counts in the DOM",
        .enabled(if: chromium != nil, "chromium is not installed (Scripts/test installs it)"))
    func inBrowser() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, node in
            let key = "tickplex:last:tickplex.bybit.linear.ticker.BTCUSDT"
            #expect(await eventually { (try? await node.store.get(key)) != nil })
            // A browser starved of CPU may dump the page before its WebSocket's first frame: load it again (a fresh
            // browser each time), a few times at most.
            var dom = ""
            for _ in 0..<4 {
                dom = try await Self.dumpDOM(url: "http://127.0.0.1:\(port)/")
                if Self.firstMatch(#"<td class="price[^"]*">([0-9.]+)</td>"#, in: dom) != nil { break }
            }
            // The BTCUSDT row of the default table, its price cell filled from /ws.
            let row = try #require(Self.firstMatch(#"<tr data-arg="ticker:BTCUSDT@bybit\.linear">(.*?)</tr>"#, in: dom))
            let cells = Self.allMatches(#"<td[^>]*>([^<]*)</td>"#, in: row)
            #expect(cells.count >= 7, "\(row)")
            let price = cells.count > 2 ? cells[2] : ""
            #expect(
                price.range(of: #"^[0-9]+\.[0-9]+$"#, options: .regularExpression) != nil, "a decimal price: \(price)")
            let stored = try #require(try await node.store.get(key))
            let priceText = (jsonObject(String(buffer: stored.value))?["data"] as? [String: Any])?["price"] as? String
            let current = try #require(priceText.flatMap { Double($0) })
            let shown = try #require(Double(price))
            #expect(abs(shown - current) / current < 0.01, "the page shows the stream's price (\(shown) vs \(current))")
            #expect(cells.count > 4 && cells[3].contains(".") && cells[4].contains("."), "bid and ask rendered")
            // Live counts from /stats, and the simulator labelled as such.
            let clients = try #require(Self.firstMatch(#"id="clients">([0-9]+)<"#, in: dom))
            #expect((Int(clients) ?? 0) >= 1, "the page's own connection is counted")
            #expect(dom.contains("SIMULATED PRICES"))
        }
    }

    static func dumpDOM(url: String) async throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium!)
        // Virtual time lets the page's timers run; the WebSocket data arrives in real time meanwhile.
        p.arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(NSTemporaryDirectory())tickplex-chromium-\(UUID().uuidString)",
            "--virtual-time-budget=5000", "--dump-dom", url,
        ]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = try await Task.detached { try out.fileHandleForReading.readToEnd() ?? Data() }.value
        let deadline = ContinuousClock.now + .seconds(60)
        while p.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if p.isRunning { p.terminate() }
        return String(decoding: data, as: UTF8.self)
    }

    static func firstMatch(_ pattern: String, in text: String) -> String? {
        allMatches(pattern, in: text).first
    }

    static func allMatches(_ pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]) else {
            return []
        }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
