import NIOCore
import NIOPosix
import Testing
import TickplexConfig
import TickplexModel
import TickplexTestSupport

@testable import TickplexRedis

@Suite("Clear errors instead of hangs")
struct RedisErrorTests {
    @Test("wrong password: one authentication error naming the server")
    func wrongPassword() async throws {
        let server = try await RedisServer.start(password: "right")
        defer { server.stop() }
        var config = redisConfiguration(server)
        config.url.password = "wrong"
        let clock = ContinuousClock()
        let start = clock.now
        await #expect {
            _ = try await RedisConnection.connect(configuration: config)
        } throws: { error in
            guard case .authFailed(let address, let reply) = error as? RedisError else { return false }
            return address == "127.0.0.1:\(server.port)" && reply.contains("WRONGPASS")
                && "\(error)".contains("authentication failed")
        }
        #expect(clock.now - start < .seconds(5), "an error, not a hang")

        // The reconnecting client reports the same reason instead of hanging.
        let client = RedisClient(configuration: config, logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            await #expect {
                try await client.waitUntilConnected(timeout: .seconds(10))
            } throws: { error in
                "\(error)".contains("authentication failed")
            }
            await #expect(throws: RedisError.self) { try await client.send(RedisCommand("PING")) }
            group.cancelAll()
        }
    }

    @Test("no password when one is required: the command error says so")
    func missingPassword() async throws {
        let server = try await RedisServer.start(password: "right")
        defer { server.stop() }
        var config = redisConfiguration(server)
        config.url.password = nil
        let connection = try await RedisConnection.connect(configuration: config)
        defer { connection.channel.close(promise: nil) }
        guard case .error(let message) = try await connection.send(RedisCommand("GET", "x")) else {
            Issue.record("expected NOAUTH")
            return
        }
        #expect(message.contains("NOAUTH"))
    }

    @Test("unreachable host (nothing listening): one connect error, at once")
    func unreachable() async throws {
        let port = freeLoopbackPort()
        let config = RedisConfiguration(url: RedisURL(host: "127.0.0.1", port: port), connectTimeout: .seconds(2))
        let clock = ContinuousClock()
        let start = clock.now
        await #expect {
            _ = try await RedisConnection.connect(configuration: config)
        } throws: { error in
            guard case .connectFailed(let address, let reason) = error as? RedisError else { return false }
            return address == "127.0.0.1:\(port)" && reason.lowercased().contains("refused")
        }
        #expect(clock.now - start < .seconds(5), "an error, not a hang")
    }

    @Test("a server that accepts but never answers: command timeout, not a hang")
    func silentServer() async throws {
        // A loopback TCP listener that reads and never writes.
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { listener.close(promise: nil) }
        let port = listener.localAddress!.port!
        let config = RedisConfiguration(
            url: RedisURL(host: "127.0.0.1", port: port), connectTimeout: .seconds(5),
            commandTimeout: .milliseconds(300))
        let connection = try await RedisConnection.connect(configuration: config)
        let clock = ContinuousClock()
        let start = clock.now
        await #expect {
            _ = try await connection.send(RedisCommand("PING"))
        } throws: { error in
            guard case .commandTimeout(let address, let command, let ms) = error as? RedisError else { return false }
            return address == "127.0.0.1:\(port)" && command == "PING" && ms == 300
        }
        #expect(clock.now - start < .seconds(3))
        // The pipeline cannot be trusted after a timeout: the connection is closed.
        #expect(await eventually(timeout: .seconds(2)) { !connection.channel.isActive })

        // With a password, the AUTH of the handshake times out the same way.
        var authConfig = config
        authConfig.url.password = "pw"
        await #expect {
            _ = try await RedisConnection.connect(configuration: authConfig)
        } throws: { error in
            if case .commandTimeout(_, "AUTH", _) = error as? RedisError { return true }
            return false
        }
    }
}
