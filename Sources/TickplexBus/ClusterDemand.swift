public import TickplexRedis

/// Which streams the nodes of a cluster want, in one sorted set: member `<stream argument>|<node id>`, score the
/// time (Redis's clock, so that nodes' clocks may differ) when the entry expires unless renewed. A node renews its
/// entries on every tick and removes one as soon as its last local subscriber leaves; a dead node's entries expire.
public struct ClusterDemand: Sendable {
    /// `<brand>:demand`.
    public let key: String
    let client: RedisClient

    public init(client: RedisClient, brand: String) {
        self.client = client
        self.key = "\(brand):demand"
    }

    static let renewScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]) end
        return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
        """

    public static func member(argument: String, nodeId: String) -> String { "\(argument)|\(nodeId)" }

    /// Splits a member into the stream argument and the node id.
    public static func parse(_ member: String) -> (argument: String, nodeId: String)? {
        guard let bar = member.lastIndex(of: "|") else { return nil }
        return (String(member[..<bar]), String(member[member.index(after: bar)...]))
    }

    /// Renews `members` for `ttlMs`, drops expired entries, and returns every live member of the cluster.
    public func renew(_ members: [String], ttlMs: Int) async throws -> [String] {
        let reply = try await client.send(
            RedisCommand(
                arguments: ["EVAL", .string(Self.renewScript), 1, .string(key), .integer(ttlMs)]
                    + members.map { .string($0) }))
        switch reply {
        case .array(let items): return items.compactMap(\.string)
        case .error(let message): throw LeaseError(description: "demand renew failed: \(message)")
        default: return []
        }
    }

    /// This node no longer wants the stream.
    public func remove(_ member: String) async throws {
        _ = try await client.send(RedisCommand("ZREM", .string(key), .string(member)))
    }
}
