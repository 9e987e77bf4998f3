public import NIOCore
public import TickplexRedis

/// History in Redis: one sorted set per series, score = candle start (ms), member = the candle's JSON. A candle
/// replaces any member with its start (`ZREMRANGEBYSCORE` then `ZADD`), and the set is trimmed to the newest
/// `maxPerSeries` (`ZREMRANGEBYRANK`), all in one pipelined round trip. Survives a Tickplex restart.
public final class RedisCandleHistory: CandleHistory {
    public let maxPerSeries: Int
    private let client: RedisClient

    public init(client: RedisClient, maxPerSeries: Int) {
        self.client = client
        self.maxPerSeries = maxPerSeries
    }

    public func add(series: String, start: Int64, candle: ByteBuffer) async throws {
        let commands = Self.addCommands(series: series, start: start, candle: candle, maxPerSeries: maxPerSeries)
        for (reply, command) in zip(try await client.send(commands), commands) {
            if case .error(let message) = reply {
                throw RedisError.server(address: client.configuration.address, command: command.name, reply: message)
            }
        }
    }

    /// Replace the candle at `start`, then trim to the newest `maxPerSeries` (also pipelined by
    /// `PipelinedRedisEventWriter`).
    public static func addCommands(series: String, start: Int64, candle: ByteBuffer, maxPerSeries: Int)
        -> [RedisCommand]
    {
        let score = RedisArgument.string(String(start))
        return [
            RedisCommand("ZREMRANGEBYSCORE", .string(series), score, score),
            RedisCommand("ZADD", .string(series), score, .bytes(candle)),
            RedisCommand("ZREMRANGEBYRANK", .string(series), "0", .string(String(-(maxPerSeries + 1)))),
        ]
    }

    public func range(series: String, from: Int64?, to: Int64?, limit: Int) async throws -> [ByteBuffer] {
        let low = from.map { String($0) } ?? "-inf"
        let high = to.map { String($0) } ?? "+inf"
        let reply: RESPValue
        if from != nil {
            reply = try await client.command(
                "ZRANGEBYSCORE", .string(series), .string(low), .string(high), "LIMIT", "0", .string(String(limit)))
        } else {
            reply = try await client.command(
                "ZREVRANGEBYSCORE", .string(series), .string(high), .string(low), "LIMIT", "0", .string(String(limit)))
        }
        guard case .array(let items) = reply else {
            if case .error(let message) = reply {
                throw RedisError.server(address: client.configuration.address, command: "ZRANGEBYSCORE", reply: message)
            }
            return []
        }
        let candles = items.compactMap { item -> ByteBuffer? in
            if case .bulkString(let b) = item { return b }
            return nil
        }
        return from != nil ? candles : candles.reversed()
    }
}
