public import Foundation

/// The recorded exchange frames and REST bodies the tests read: `Tests/Fixtures/exchange` inside the repository
/// (a copy of the shared samples with their `SOURCES.md`), so a clone alone passes the suite. `TICKPLEX_SAMPLES`
/// points elsewhere.
public enum ExchangeFixtures {
    public static var root: URL {
        if let explicit = ProcessInfo.processInfo.environment["TICKPLEX_SAMPLES"] {
            return URL(fileURLWithPath: explicit)
        }
        // Sources/TickplexTestSupport/ExchangeFixtures.swift → the package root.
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return package.appendingPathComponent("Tests/Fixtures/exchange")
    }

    /// The text of a file below the root (e.g. `bybit/tickers_linear.jsonl`); a missing fixture is an error that
    /// says where it was looked for.
    public static func text(_ relative: String) throws -> String {
        let file = root.appendingPathComponent(relative)
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw TestSupportError(description: "fixture \(relative) not found at \(file.path)")
        }
        return text
    }
}
