import Foundation

/// A real Redis Cluster of three masters on loopback (`redis-server --cluster-enabled yes` × 3, joined by
/// `redis-cli --cluster create`), owned by one test and stopped when it ends.
public final class RedisClusterServers: Sendable {
    public let nodes: [RedisServer]

    /// A URL of one node: what `REDIS_URL` names with `REDIS_CLUSTER=true`.
    public var url: String { nodes[0].url }

    private init(nodes: [RedisServer]) { self.nodes = nodes }

    public static func start(masters: Int = 3) async throws -> RedisClusterServers {
        var nodes: [RedisServer] = []
        do {
            for _ in 0..<masters { nodes.append(try await RedisServer.startClusterNode()) }
            try runTool(
                "redis-cli",
                ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" } + [
                    "--cluster-replicas", "0", "--cluster-yes",
                ])
            // Every node agrees the cluster is up.
            let deadline = ContinuousClock.now + .seconds(20)
            for node in nodes {
                while !(try runTool("redis-cli", ["-p", "\(node.port)", "cluster", "info"]).contains("cluster_state:ok"))
                {
                    guard ContinuousClock.now < deadline else {
                        throw TestSupportError(description: "redis cluster not ok within 20 s")
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        } catch {
            for node in nodes { node.stop() }
            throw error
        }
        return RedisClusterServers(nodes: nodes)
    }

    public func stop() {
        for node in nodes { node.stop() }
    }
}
