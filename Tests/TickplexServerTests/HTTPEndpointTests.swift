import Testing
import TickplexTestSupport

@Suite("HTTP endpoints over real HTTP")
struct HTTPEndpointTests {
    @Test("/ready answers {\"ok\":true}")
    func ready() async throws {
        try await withNode { port, _ in
            let r = try await httpGet(port: port, "/ready")
            #expect(r.status == 200)
            #expect(r.body == #"{"ok":true}"#)
        }
    }

    @Test("/health in in-process mode is healthy and says what it runs on")
    func healthInProcess() async throws {
        try await withNode { port, _ in
            let r = try await httpGet(port: port, "/health")
            #expect(r.status == 200)
            let json = try #require(jsonObject(r.body))
            #expect(json["ok"] as? Bool == true)
            #expect(json["bus"] as? String == "in-process")
            #expect(json["upstream"] as? String == "exchange")
            #expect(json["simulated"] as? Bool == false)
        }
    }

    @Test("unknown routes answer 404 {\"error\":\"not found\"}", arguments: ["/nope", "/v1", "/ready/extra", "/%20"])
    func notFound(_ path: String) async throws {
        try await withNode { port, _ in
            let r = try await httpGet(port: port, path)
            #expect(r.status == 404)
            #expect(r.body == #"{"error":"not found"}"#)
        }
    }
}
