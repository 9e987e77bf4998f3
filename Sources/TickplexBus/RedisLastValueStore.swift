public import NIOCore
import TickplexModel
public import TickplexRedis

/// Last values in Redis: `SET key value PX ttl`; the value stays the plain encoded event so that other tools can
/// read it. The age comes from the remaining TTL (`ttl - PTTL`), read in the same round trip as the value.
public final class RedisLastValueStore: LastValueStore {
    public let ttl: Duration
    private let client: RedisClient

    public init(client: RedisClient, ttl: Duration) {
        self.client = client
        self.ttl = ttl
    }

    public func set(_ key: String, _ value: ByteBuffer) async throws {
        let reply = try await client.send(Self.setCommand(key, value, ttl: ttl))
        if case .error(let message) = reply {
            throw RedisError.server(address: client.configuration.address, command: "SET", reply: message)
        }
    }

    /// `SET key value PX ttl` (also pipelined by `PipelinedRedisEventWriter`).
    public static func setCommand(_ key: String, _ value: ByteBuffer, ttl: Duration) -> RedisCommand {
        RedisCommand("SET", .string(key), .bytes(value), "PX", .integer(Int(ttl.milliseconds)))
    }

    public func get(_ key: String) async throws -> StoredValue? {
        let replies = try await client.send([RedisCommand("GET", .string(key)), RedisCommand("PTTL", .string(key))])
        guard case .bulkString(let value) = replies[0] else {
            if case .error(let message) = replies[0] {
                throw RedisError.server(address: client.configuration.address, command: "GET", reply: message)
            }
            return nil
        }
        let remaining = replies[1].int ?? -1
        let age = remaining >= 0 ? max(0, ttl.milliseconds - remaining) : 0
        return StoredValue(value: value, ageMs: age)
    }
}
