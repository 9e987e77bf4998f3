import Foundation
import Testing
import TickplexTestSupport

@Suite("The tickplex binary: start-up, configuration errors, signals")
struct ProcessStartupTests {
    /// The same bad values the parser rejects, now through the real binary.
    static let badValues: [(String, String, String)] = [
        ("PORT", "abc", "a whole number from 0 to 65535"),
        ("PORT", "65536", "a whole number from 0 to 65535"),
        ("REDIS_URL", "localhost:6379", "redis://"),
        ("DEFAULT_VENUE", "kraken", "one of bybit.linear"),
        ("UPSTREAM", "live", "one of exchange, sim"),
        ("BYBIT_WS_URL_LINEAR", "http://x", "ws:// or wss://"),
        ("MAX_CLIENTS", "-3", "a whole number from 1"),
        ("LOG_LEVEL", "loud", "one of trace"),
        ("SHUTDOWN_GRACE_S", "1e3", "a whole number from 0 to 3600"),
        ("BRAND", "UPPER", "a-z"),
    ]

    @Test(
        "each configuration error exits 2 with one line naming variable, value and what is allowed", arguments: 0..<10)
    func configErrorExits2(_ index: Int) async throws {
        let (variable, value, allowed) = Self.badValues[index]
        var environment = ["PORT": "0", "HOST": "127.0.0.1"]
        environment[variable] = value
        let result = try await TickplexProcess.run(environment: environment)
        #expect(result.exitCode == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        let line = String(lines.first ?? "")
        #expect(line.contains(variable) && line.contains("\"\(value)\"") && line.contains(allowed), "got: \(line)")
    }

    @Test("a malformed .env line exits 2 naming the line")
    func badDotEnv() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("envfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(".env").path
        try "PORT=0\nthis is wrong\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await TickplexProcess.run(arguments: ["serve", "--env-file", path], environment: [:])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains(".env line 2"))
    }

    @Test("with no configuration it starts, says it uses the in-process bus, answers /ready, exits 0 on SIGTERM")
    func startsAndStops() async throws {
        let child = try TickplexProcess(environment: ["PORT": "0", "HOST": "127.0.0.1"])
        let port = try await child.waitForListening()
        #expect(child.stdout.contains("bus: in-process"))
        #expect(child.stdout.contains("upstream: exchanges"))
        let r = try await httpGet(port: port, "/ready")
        #expect(r.status == 200 && r.body == #"{"ok":true}"#)
        child.signal(SIGTERM)
        #expect(await child.waitForExit(timeout: .seconds(10)))
        #expect(child.exitCode == 0)
    }
}
