import Foundation
import Synchronization
import TickplexModel
public import TickplexRedis

/// Exclusive, expiring ownership of a name (a stream's upstream subscription, for scale-out): at most one holder at
/// a time; the holder renews before the TTL runs out; a holder that stops renewing (killed, paused, cut off) loses
/// it when the TTL passes. Renewing and releasing check the token atomically, so only the holder can.
public protocol LeaseStore: Sendable {
    /// Takes the lease when nobody holds it; true when taken.
    func acquire(_ name: String, token: String, ttl: Duration) async throws -> Bool
    /// Extends the lease when `token` still holds it; false when it was lost.
    func renew(_ name: String, token: String, ttl: Duration) async throws -> Bool
    /// Gives the lease up when `token` holds it; false when it did not.
    func release(_ name: String, token: String) async throws -> Bool
    /// The token holding the lease now, if any.
    func holder(_ name: String) async throws -> String?
}

/// Leases in Redis: `SET name token NX PX ttl` to take; a Lua script compares the token before `PEXPIRE` (renew) or
/// `DEL` (release), so that a node whose lease expired and was taken by another cannot extend or drop the new one.
public struct RedisLeaseStore: LeaseStore {
    let client: RedisClient

    public init(client: RedisClient) { self.client = client }

    static let renewScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end"
    static let releaseScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"

    public func acquire(_ name: String, token: String, ttl: Duration) async throws -> Bool {
        let reply = try await client.send(
            RedisCommand("SET", .string(name), .string(token), "NX", "PX", .integer(Int(ttl.milliseconds))))
        return try Self.check(reply, command: "SET") { if case .simpleString("OK") = $0 { true } else { false } }
    }

    public func renew(_ name: String, token: String, ttl: Duration) async throws -> Bool {
        let reply = try await client.send(
            RedisCommand(
                "EVAL", .string(Self.renewScript), .integer(1), .string(name), .string(token),
                .integer(Int(ttl.milliseconds))))
        return try Self.check(reply, command: "EVAL") { $0.int == 1 }
    }

    public func release(_ name: String, token: String) async throws -> Bool {
        let reply = try await client.send(
            RedisCommand("EVAL", .string(Self.releaseScript), .integer(1), .string(name), .string(token)))
        return try Self.check(reply, command: "EVAL") { $0.int == 1 }
    }

    public func holder(_ name: String) async throws -> String? {
        let reply = try await client.send(RedisCommand("GET", .string(name)))
        _ = try Self.check(reply, command: "GET") { _ in true }
        return reply.string
    }

    private static func check(_ reply: RESPValue, command: String, _ ok: (RESPValue) -> Bool) throws -> Bool {
        if case .error(let message) = reply {
            throw LeaseError(description: "\(command) failed: \(message)")
        }
        return ok(reply)
    }
}

public struct LeaseError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Leases within one process (no Redis): the same contract, for a single node and for tests.
public final class InMemoryLeaseStore: LeaseStore {
    private let leases = Mutex<[String: (token: String, until: ContinuousClock.Instant)]>([:])

    public init() {}

    public func acquire(_ name: String, token: String, ttl: Duration) async throws -> Bool {
        leases.withLock { all in
            if let held = all[name], held.until > .now { return false }
            all[name] = (token, .now + ttl)
            return true
        }
    }

    public func renew(_ name: String, token: String, ttl: Duration) async throws -> Bool {
        leases.withLock { all in
            guard let held = all[name], held.until > .now, held.token == token else { return false }
            all[name] = (token, .now + ttl)
            return true
        }
    }

    public func release(_ name: String, token: String) async throws -> Bool {
        leases.withLock { all in
            guard let held = all[name], held.until > .now, held.token == token else { return false }
            all[name] = nil
            return true
        }
    }

    public func holder(_ name: String) async throws -> String? {
        leases.withLock { all in
            guard let held = all[name], held.until > .now else { return nil }
            return held.token
        }
    }
}
