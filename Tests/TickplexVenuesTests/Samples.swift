import Foundation
import TickplexTestSupport

/// The recorded exchange frames (`Tests/Fixtures/exchange`, see `ExchangeFixtures`).
enum Samples {
    static var root: URL { ExchangeFixtures.root }

    /// Every `.jsonl` file under `venue/`, except the docs examples (not recordings).
    static func files(_ venue: String) throws -> [URL] {
        let base = root.appendingPathComponent(venue)
        guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter {
            $0.pathExtension == "jsonl" && !$0.path.contains("/docs_examples/")
        }.sorted { $0.path < $1.path }
    }

    static func lines(_ relative: String) throws -> [String] {
        try lines(of: root.appendingPathComponent(relative))
    }

    static func lines(of url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// The frames a file holds: the line itself, or for session transcripts the `raw` of each `recv`.
    static func frames(of url: URL) throws -> [String] {
        let all = try lines(of: url)
        guard url.path.contains("/sessions/") else { return all }
        return all.compactMap { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                obj["dir"] as? String == "recv"
            else { return nil }
            return obj["raw"] as? String
        }
    }
}
