import Foundation
import Testing
import TickplexTestSupport

/// `/openapi.json`: a valid OpenAPI 3.1 document (by `openapi-spec-validator`, installed from PyPI by
/// Scripts/test), and true of the running node: every path it lists answers with one of the statuses it lists.
@Suite("GET /openapi.json: valid OpenAPI 3.1, and every documented path answers as documented")
struct OpenAPITests {
    /// Validates the document at `path` with openapi-spec-validator; "ok" or the validator's complaint.
    static func validate(_ path: String) throws -> String {
        let script = """
            import sys
            try:
                from openapi_spec_validator import validate
                from openapi_spec_validator.readers import read_from_filename
                spec, _ = read_from_filename(sys.argv[1])
                validate(spec)
                print("ok")
            except Exception as e:
                print("invalid: %s: %s (%s)" % (type(e).__name__, (str(e).splitlines() or [""])[0], sys.executable))
            """
        return try runTool(testPython, ["-c", script, path]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("the document validates; a broken copy does not (the validator really validates)")
    func valid() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, _ in
            let (status, body) = try await httpGet(port: port, "/openapi.json")
            #expect(status == 200)
            let doc = try #require(jsonObject(body))
            #expect(doc["openapi"] as? String == "3.1.0")
            let dir = FileManager.default.temporaryDirectory
            let good = dir.appendingPathComponent("tickplex-openapi-\(port).json")
            try Data(body.utf8).write(to: good)
            defer { try? FileManager.default.removeItem(at: good) }
            let verdict = try Self.validate(good.path)
            #expect(verdict == "ok", "\(verdict)")
            // The same document with a response that is not an object: must be refused.
            var broken = doc
            var paths = try #require(broken["paths"] as? [String: Any])
            var ready = try #require(paths["/ready"] as? [String: Any])
            ready["get"] = ["responses": ["200": 17]]
            paths["/ready"] = ready
            broken["paths"] = paths
            let bad = dir.appendingPathComponent("tickplex-openapi-broken-\(port).json")
            try JSONSerialization.data(withJSONObject: broken).write(to: bad)
            defer { try? FileManager.default.removeItem(at: bad) }
            let refused = try Self.validate(bad.path)
            #expect(refused.hasPrefix("invalid"), "\(refused)")
        }
    }

    @Test("every documented GET path answers on a node with one of its documented statuses")
    func pathsAnswer() async throws {
        try await withNode(["UPSTREAM": "sim"]) { port, _ in
            let doc = try #require(jsonObject(try await httpGet(port: port, "/openapi.json").body))
            let paths = try #require(doc["paths"] as? [String: Any])
            #expect(paths.count >= 9)
            for (path, item) in paths.sorted(by: { $0.key < $1.key }) {
                let get = try #require((item as? [String: Any])?["get"] as? [String: Any], "\(path): no GET")
                let documented = Set(((get["responses"] as? [String: Any]) ?? [:]).keys.compactMap { Int($0) })
                var url = path.replacingOccurrences(of: "{symbol}", with: "BTCUSDT")
                if path == "/v1/klines" { url += "?symbol=BTCUSDT&interval=1m&limit=5" }
                let status = try await httpGet(port: port, url).status
                #expect(documented.contains(status), "\(url) answered \(status), documented: \(documented.sorted())")
                #expect(status != 404, "\(url): documented but not served")
            }
        }
    }
}
