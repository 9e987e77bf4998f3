import Foundation
import Synchronization
import Testing
import TickplexTestSupport

@Suite("SIGTERM with connected clients", .serialized)
struct ShutdownTests {
    @Test(
        "500 connected clients all receive close 1001 and the process exits 0 within SHUTDOWN_GRACE_S",
        arguments: BusMode.allCases)
    func sigterm(bus: BusMode) async throws {
        var environment = ["PORT": "0", "HOST": "127.0.0.1", "UPSTREAM": "sim", "SHUTDOWN_GRACE_S": "5"]
        let redis = bus == .redis ? try await RedisServer.start() : nil
        defer { redis?.stop() }
        if let redis { environment["REDIS_URL"] = redis.url }
        let child = try TickplexProcess(environment: environment)
        let port = try await child.waitForListening()
        let clients = (0..<500).map { _ in WireClient(port: port) }
        for c in clients { c.send(#"{"op":"subscribe","args":["ticker:BTCUSDT"]}"#) }
        #expect(await eventually(timeout: .seconds(30)) { clients.allSatisfy { !$0.replies("subscribe").isEmpty } })
        let started = ContinuousClock.now
        child.signal(SIGTERM)
        #expect(await child.waitForExit(timeout: .seconds(8)))
        #expect(child.exitCode == 0)
        #expect(ContinuousClock.now - started < .seconds(5) + .milliseconds(500))
        #expect(
            await eventually(timeout: .seconds(5)) { clients.allSatisfy { $0.box.closeCode.withLock { $0 } != nil } })
        let codes = Dictionary(grouping: clients.compactMap { $0.box.closeCode.withLock { $0 } }, by: { $0 }).mapValues(
            \.count)
        #expect(codes == [1001: 500], "close codes: \(codes)")
    }
}
