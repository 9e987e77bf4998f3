import Foundation
public import NIOCore
public import TickplexRedis

/// The Redis names of one stream's cluster state: its upstream lease and its last `seq`, beside its channel and
/// last value.
public struct StreamLeaseNames: Sendable, Hashable {
    /// `<brand>:lease:<stream>` = the holder's token, with a PX TTL.
    public let lease: String
    /// `<brand>:seq:<stream>` = the last published `seq` (`N`, or `N:r` once its owner released it cleanly).
    public let seq: String
    /// The bus channel the holder publishes on.
    public let channel: String

    public init(lease: String, seq: String, channel: String) {
        self.lease = lease
        self.seq = seq
        self.channel = channel
    }
}

/// A lease just taken, and what the previous holder left.
public struct LeaseGrant: Sendable, Equatable {
    public let token: String
    /// The last `seq` published on the stream by any holder (0: never published, or forgotten by Redis).
    public let previousSeq: UInt64
    /// The previous holder gave the stream up cleanly (or there was none): nothing was cut off.
    public let cleanHandOver: Bool
    /// Redis still had the stream's last `seq` (false: never published, or Redis lost it in a restart).
    public let seqKnown: Bool

    public init(token: String, previousSeq: UInt64, cleanHandOver: Bool, seqKnown: Bool) {
        self.token = token
        self.previousSeq = previousSeq
        self.cleanHandOver = cleanHandOver
        self.seqKnown = seqKnown
    }
}

/// Stream leases in Redis, every step one Lua script so that it is atomic: take (`SET NX PX`, and read the last
/// `seq` in the same step), renew and release (only when the token still holds it), and publish fenced (the
/// event is stored and published only when the token still holds the lease). A holder that was paused or cut
/// off past its TTL cannot renew, release or publish once another node took the stream.
public struct RedisStreamLeases: Sendable {
    let client: RedisClient
    /// How long the last `seq` is kept after the last publish or renewal.
    public static let seqTTLMs = 7 * 24 * 3_600_000

    public init(client: RedisClient) { self.client = client }

    static let acquireScript = """
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
          local s = redis.call('GET', KEYS[2])
          if s then return s else return '' end
        end
        return false
        """
    static let renewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          redis.call('PEXPIRE', KEYS[2], ARGV[3])
          return 1
        end
        return 0
        """
    static let releaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
          local s = redis.call('GET', KEYS[2])
          if s then
            local n = string.gsub(s, ':r', '')
            if ARGV[3] == '1' then n = n .. ':r' end
            redis.call('SET', KEYS[2], n, 'PX', ARGV[2])
          end
          return 1
        end
        return 0
        """
    /// KEYS: lease, seq[, last value]. ARGV: token, seq, payload, channel, seq TTL[, last-value TTL].
    static let publishScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[5]) end
        if KEYS[3] then redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[6]) end
        redis.call('PUBLISH', ARGV[4], ARGV[3])
        return 1
        """
    /// The same on a Redis Cluster: sharded pub/sub (the channel shares the keys' hash tag, so their slot).
    static let shardedPublishScript = publishScript.replacingOccurrences(of: "'PUBLISH'", with: "'SPUBLISH'")

    /// A fresh token: the node's name and a random part (a node that takes the same stream again gets a new one).
    public static func token(nodeId: String) -> String {
        "\(nodeId):\(UInt64.random(in: 1...UInt64.max))"
    }

    public func acquireCommand(_ names: StreamLeaseNames, token: String, ttlMs: Int) -> RedisCommand {
        RedisCommand(
            "EVAL", .string(Self.acquireScript), 2, .string(names.lease), .string(names.seq), .string(token),
            .integer(ttlMs))
    }

    /// The grant in an acquire reply, or nil when another token holds the lease.
    public static func grant(_ reply: RESPValue, token: String) throws -> LeaseGrant? {
        switch reply {
        case .error(let message): throw LeaseError(description: "lease acquire failed: \(message)")
        case .null: return nil
        default:
            let text = reply.string ?? ""
            let released = text.hasSuffix(":r")
            let number = UInt64(released ? text.dropLast(2) : Substring(text)) ?? 0
            return LeaseGrant(
                token: token, previousSeq: number, cleanHandOver: text.isEmpty || released, seqKnown: !text.isEmpty)
        }
    }

    public func acquire(_ names: StreamLeaseNames, token: String, ttlMs: Int) async throws -> LeaseGrant? {
        try Self.grant(try await client.send(acquireCommand(names, token: token, ttlMs: ttlMs)), token: token)
    }

    /// Renews every lease in one round trip; false where the lease was lost.
    public func renew(_ leases: [(names: StreamLeaseNames, token: String)], ttlMs: Int) async throws -> [Bool] {
        guard !leases.isEmpty else { return [] }
        let replies = try await client.send(
            leases.map {
                RedisCommand(
                    "EVAL", .string(Self.renewScript), 2, .string($0.names.lease), .string($0.names.seq),
                    .string($0.token), .integer(ttlMs), .integer(Self.seqTTLMs))
            })
        return try replies.map { reply in
            if case .error(let message) = reply { throw LeaseError(description: "lease renew failed: \(message)") }
            return reply.int == 1
        }
    }

    /// Gives the lease up; false when the token no longer held it. `clean`: nobody was streaming it (the last
    /// `seq` is marked so that the next holder does not announce a takeover); a node shutting down with clients
    /// elsewhere still on the stream gives it up unclean, and the next holder tells them.
    @discardableResult
    public func release(_ names: StreamLeaseNames, token: String, clean: Bool = true) async throws -> Bool {
        let reply = try await client.send(
            RedisCommand(
                "EVAL", .string(Self.releaseScript), 2, .string(names.lease), .string(names.seq), .string(token),
                .integer(Self.seqTTLMs), clean ? "1" : "0"))
        if case .error(let message) = reply { throw LeaseError(description: "lease release failed: \(message)") }
        return reply.int == 1
    }

    /// The token holding the lease now, if any.
    public func holder(_ names: StreamLeaseNames) async throws -> String? {
        try await client.send(RedisCommand("GET", .string(names.lease))).string
    }

    /// Stores (when `lastValue` is set) and publishes `payload` only while `token` holds the lease; the reply is
    /// `1`, or `0` when the lease was lost (nothing was written). `seq` nil: a control message (a takeover, a
    /// refusal), which leaves the stored `seq` as it is.
    public static func fencedPublish(
        _ names: StreamLeaseNames, token: String, seq: UInt64?, payload: ByteBuffer,
        lastValue: (key: String, ttlMs: Int)?, sharded: Bool = false
    ) -> RedisCommand {
        var arguments: [RedisArgument] = [
            "EVAL", .string(sharded ? shardedPublishScript : publishScript), .integer(lastValue == nil ? 2 : 3),
        ]
        arguments += [.string(names.lease), .string(names.seq)]
        if let lastValue { arguments.append(.string(lastValue.key)) }
        arguments += [.string(token), .string(seq.map(String.init) ?? ""), .bytes(payload), .string(names.channel)]
        arguments.append(.integer(seqTTLMs))
        if let lastValue { arguments.append(.integer(lastValue.ttlMs)) }
        return RedisCommand(arguments: arguments)
    }
}

public struct LeaseError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
