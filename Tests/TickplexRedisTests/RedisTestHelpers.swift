import Logging
import NIOCore
import Synchronization
import TickplexConfig
import TickplexModel
import TickplexTestSupport

@testable import TickplexRedis

func redisConfiguration(_ server: RedisServer, commandTimeout: Duration = .seconds(5)) -> RedisConfiguration {
    RedisConfiguration(
        url: RedisURL(server.url)!, connectTimeout: .seconds(2), commandTimeout: commandTimeout,
        keepAliveInterval: .seconds(1),
        reconnectBackoff: Backoff(initial: .milliseconds(50), maximum: .milliseconds(500)))
}

var quietLogger: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

/// Runs `client` as a service for the duration of `body`.
func withRunning<T: Sendable>(
    _ services: [any RunnableRedis], _ body: @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        for service in services {
            group.addTask {
                try await service.run()
                return nil
            }
        }
        for service in services { try await service.waitUntilConnected(timeout: .seconds(10)) }
        let result = try await body()
        group.cancelAll()
        return result
    }
}

protocol RunnableRedis: Sendable {
    func run() async throws
    func waitUntilConnected(timeout: Duration) async throws(RedisError)
}
extension RedisClient: RunnableRedis {}
extension RedisSubscriber: RunnableRedis {}

/// A thread-safe list filled from event-loop callbacks.
final class LockedList<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])
    func append(_ e: Element) { storage.withLock { $0.append(e) } }
    var values: [Element] { storage.withLock { $0 } }
    var count: Int { storage.withLock { $0.count } }
}
