import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TickplexCore
import TickplexServer
import TickplexTestSupport

var quietLogger: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] == nil ? .critical : .debug
    return logger
}

/// Runs a whole node in this process on a free loopback port for the duration of `body`.
func withNode<T: Sendable>(
    _ env: [String: String] = [:], _ body: @Sendable (_ port: Int, _ node: TickplexNode) async throws -> T
) async throws -> T {
    var environment = env
    environment["HOST"] = "127.0.0.1"
    environment["PORT"] = "0"
    let config = try ConfigLoader.parse(environment)
    let node = try await TickplexNode.start(config: config, logger: quietLogger)
    let port = Mutex<Int?>(nil)
    let group = node.makeServiceGroup(gracefulShutdownSignals: []) { address in
        port.withLock { $0 = address.port }
    }
    return try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        guard await eventually({ port.withLock { $0 } != nil }) else {
            throw TestSupportError(description: "node did not start listening")
        }
        let result = try await body(port.withLock { $0 }!, node)
        await group.triggerGracefulShutdown()
        for try await _ in tasks {}
        return result
    }
}
