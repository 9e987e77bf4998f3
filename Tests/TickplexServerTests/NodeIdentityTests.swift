import Foundation
import Testing
import TickplexServer
import TickplexTestSupport

/// Which node answered: `NODE_ID` (or host and process id) in `/stats`, `/health` and the logs.
@Suite("Node identity")
struct NodeIdentityTests {
    @Test("NODE_ID names the node in /stats and /health; unset, it is the host and the process id")
    func identity() async throws {
        try await withNode(["NODE_ID": "edge-7"]) { port, node in
            #expect(node.nodeId == "edge-7")
            let stats = try #require(jsonObject(try await httpGet(port: port, "/stats").body))
            #expect(stats["nodeId"] as? String == "edge-7")
            let health = try #require(jsonObject(try await httpGet(port: port, "/health").body))
            #expect(health["nodeId"] as? String == "edge-7")
        }
        try await withNode([:]) { _, node in
            #expect(node.nodeId.hasSuffix("-\(ProcessInfo.processInfo.processIdentifier)"), "\(node.nodeId)")
        }
    }

    @Test("every log line of the real binary names the node")
    func logs() async throws {
        try await TickplexProcess.serving(["NODE_ID": "ingest-3"]) { port, process in
            let ready = try await httpGet(port: port, "/ready").status
            #expect(ready == 200)
            let lines = process.stdout.split(separator: "\n").filter { $0.contains("tickplex:") }
            #expect(!lines.isEmpty && lines.allSatisfy { $0.contains("node=ingest-3") }, "\(lines.prefix(3))")
        }
    }
}
