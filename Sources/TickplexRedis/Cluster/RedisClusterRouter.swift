import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TickplexConfig

/// Which master serves each slot, as `CLUSTER SLOTS` tells it.
struct RedisClusterMap: Sendable, Equatable {
    struct Range: Sendable, Equatable {
        var start: Int
        var end: Int
        var host: String
        var port: Int
    }
    var ranges: [Range]

    func address(for slot: Int) -> (host: String, port: Int)? {
        ranges.first { $0.start <= slot && slot <= $0.end }.map { ($0.host, $0.port) }
    }

    var masters: [String] { Array(Set(ranges.map { "\($0.host):\($0.port)" })).sorted() }

    /// `[[start, end, [host, port, id…], replicas…], …]`.
    static func parse(_ reply: RESPValue) -> RedisClusterMap? {
        guard case .array(let items) = reply else { return nil }
        var ranges: [Range] = []
        for item in items {
            guard case .array(let parts) = item, parts.count >= 3, let start = parts[0].int, let end = parts[1].int,
                case .array(let master) = parts[2], master.count >= 2, let host = master[0].string,
                let port = master[1].int
            else { return nil }
            ranges.append(Range(start: Int(start), end: Int(end), host: host, port: Int(port)))
        }
        return ranges.isEmpty ? nil : RedisClusterMap(ranges: ranges)
    }
}

/// Redis Cluster behind one client: a connection manager per master, every command sent to the master of its
/// key's slot (a pipeline is split per master and its replies put back in order), `-MOVED` followed (the map is
/// loaded again and the command resent where it now lives) and `-ASK` answered with `ASKING`. The slot map is
/// loaded at start, every 5 s, and after each redirection. All state lives on one event loop.
final class RedisClusterRouter: Sendable {
    struct State {
        var map: RedisClusterMap?
        var managers: [String: RedisConnectionManager] = [:]
        var starts: AsyncStream<RedisConnectionManager>.Continuation?
        var refreshWanted = false
        /// Subscriber routers: every channel wanted, and the master each is subscribed on now.
        var channels: Set<String> = []
        var assigned: [String: String] = [:]
    }

    let seed: RedisConfiguration
    let role: String
    let logger: Logger
    let eventLoop: any EventLoop
    let state: NIOLoopBoundBox<State>
    /// Subscriber routers: pushes go here, and the map comes from the command router (subscribe-mode connections
    /// cannot ask `CLUSTER SLOTS`).
    private let onPush: (@Sendable (RedisPubSubMessage) -> Void)?
    let mapSource: (@Sendable () async -> RedisClusterMap?)?

    init(
        seed: RedisConfiguration, role: String, logger: Logger, eventLoop: any EventLoop,
        onPush: (@Sendable (RedisPubSubMessage) -> Void)? = nil,
        mapSource: (@Sendable () async -> RedisClusterMap?)? = nil
    ) {
        self.seed = seed
        self.role = role
        self.logger = logger
        self.eventLoop = eventLoop
        self.onPush = onPush
        self.mapSource = mapSource
        state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    static func key(_ host: String, _ port: Int) -> String { "\(host):\(port)" }

    /// The manager of `host:port`, made (and started) when new. On the loop.
    func manager(host: String, port: Int) -> RedisConnectionManager {
        let key = Self.key(host, port)
        if let existing = state.value.managers[key] { return existing }
        var configuration = seed
        configuration.url.host = host
        configuration.url.port = port
        let manager = RedisConnectionManager(
            configuration: configuration, role: "\(role) \(key)", logger: logger, eventLoop: eventLoop,
            onPush: onPush, sharded: onPush != nil)
        state.value.managers[key] = manager
        state.value.starts?.yield(manager)
        return manager
    }

    var map: RedisClusterMap? {
        get async { try? await eventLoop.submit { self.state.value.map }.get() }
    }

    func run() async {
        let (starts, continuation) = AsyncStream.makeStream(of: RedisConnectionManager.self)
        try? await eventLoop.submit {
            self.state.value.starts = continuation
            // The seed first: the map is asked of it.
            if self.mapSource == nil { _ = self.manager(host: self.seed.url.host, port: self.seed.url.port) }
            for manager in self.state.value.managers.values { continuation.yield(manager) }
        }.get()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        await self.refresh()
                        let wait = await self.map == nil ? Duration.milliseconds(200) : .seconds(5)
                        var slept = Duration.zero
                        while slept < wait, !Task.isCancelled {
                            try? await Task.sleep(for: .milliseconds(100))
                            slept += .milliseconds(100)
                            let wanted = try? await self.eventLoop.submit { self.state.value.refreshWanted }.get()
                            if wanted == true { break }
                        }
                    }
                }
                continuation.finish()
            }
            for await manager in starts {
                group.addTask { await manager.run() }
            }
        }
    }

    /// Loads the slot map (from the command router's source, or by `CLUSTER SLOTS` on any connected master).
    func refresh() async {
        var loaded: RedisClusterMap?
        if let mapSource {
            loaded = await mapSource()
        } else {
            let managers = (try? await eventLoop.submit { Array(self.state.value.managers.values) }.get()) ?? []
            for manager in managers {
                let future = manager.withConnection { $0.write([RedisCommand("CLUSTER", "SLOTS")]) }
                if let reply = try? await future.get().first, let map = RedisClusterMap.parse(reply) {
                    loaded = map
                    break
                }
            }
        }
        guard let loaded else { return }
        try? await eventLoop.flatSubmit {
            let changed = self.state.value.map != loaded
            self.state.value.map = loaded
            self.state.value.refreshWanted = false
            for range in loaded.ranges { _ = self.manager(host: range.host, port: range.port) }
            if changed {
                self.logger.info("redis cluster map (\(self.role)): \(loaded.masters.joined(separator: ", "))")
            }
            return self.onPush == nil ? self.eventLoop.makeSucceededVoidFuture() : self.reassign()
        }.get()
    }

    // MARK: - Sharded subscriptions (subscriber routers)

    /// Each wanted channel on the master of its slot: channels whose slot moved leave the old master
    /// (`SUNSUBSCRIBE`, if it still listens) and join the new one (`SSUBSCRIBE`). On the loop.
    private func reassign() -> EventLoopFuture<Void> {
        var futures: [EventLoopFuture<Void>] = []
        for channel in state.value.channels {
            guard let target = managerFor(key: channel) else { continue }
            let targetKey = target.configuration.address
            let current = state.value.assigned[channel]
            guard current != targetKey else { continue }
            if let current, let old = state.value.managers.values.first(where: { $0.configuration.address == current })
            {
                old.state.value.channels.remove(channel)
                if let connection = old.state.value.connection {
                    futures.append(old.chunked([channel], verb: "UNSUBSCRIBE", on: connection).recover { _ in })
                }
            }
            state.value.assigned[channel] = targetKey
            target.state.value.channels.insert(channel)
            if let connection = target.state.value.connection {
                futures.append(target.chunked([channel], verb: "SUBSCRIBE", on: connection))
            }
        }
        return EventLoopFuture.andAllComplete(futures, on: eventLoop)
    }

    func subscribe(_ channels: [String]) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.state.value.channels.formUnion(channels)
            return self.reassign()
        }
    }

    func unsubscribe(_ channels: [String]) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            var futures: [EventLoopFuture<Void>] = []
            for channel in channels where self.state.value.channels.remove(channel) != nil {
                guard let current = self.state.value.assigned.removeValue(forKey: channel),
                    let manager = self.state.value.managers.values.first(where: { $0.configuration.address == current })
                else { continue }
                manager.state.value.channels.remove(channel)
                if let connection = manager.state.value.connection {
                    futures.append(manager.chunked([channel], verb: "UNSUBSCRIBE", on: connection))
                }
            }
            return EventLoopFuture.andAllSucceed(futures, on: self.eventLoop)
        }
    }

    var channels: Set<String> {
        get async { (try? await eventLoop.submit { self.state.value.channels }.get()) ?? [] }
    }

    // MARK: - Commands

    /// The manager serving `key`'s slot (any master for a command without a key). On the loop.
    func managerFor(key: String?) -> RedisConnectionManager? {
        guard let map = state.value.map else { return nil }
        if let key, let address = map.address(for: RedisClusterSlot.slot(key)) {
            return manager(host: address.host, port: address.port)
        }
        return map.ranges.first.map { manager(host: $0.host, port: $0.port) }
    }

    /// Sends the commands, each to its slot's master; replies in the commands' order.
    func enqueue(_ commands: [RedisCommand]) -> EventLoopFuture<[RESPValue]> {
        eventLoop.flatSubmit { self.send(commands, attempt: 0) }
    }

    private func send(_ commands: [RedisCommand], attempt: Int) -> EventLoopFuture<[RESPValue]> {
        var groups: [ObjectIdentifier: (manager: RedisConnectionManager, indices: [Int])] = [:]
        for (i, command) in commands.enumerated() {
            guard let manager = managerFor(key: RedisClusterSlot.routingKey(command)) else {
                return eventLoop.makeFailedFuture(
                    RedisError.notConnected(address: seed.address, lastError: "the cluster's slot map is not loaded"))
            }
            groups[ObjectIdentifier(manager), default: (manager, [])].indices.append(i)
        }
        let parts = groups.values.map { group in
            let batch = group.indices.map { commands[$0] }
            return group.manager.withConnection { $0.write(batch) }.map { (group.indices, $0) }
        }
        return EventLoopFuture.whenAllSucceed(parts, on: eventLoop).flatMap { results in
            var replies = [RESPValue](repeating: .null, count: commands.count)
            for (indices, values) in results { for (i, value) in zip(indices, values) { replies[i] = value } }
            return self.followRedirections(commands, replies, attempt: attempt)
        }
    }

    /// `-MOVED slot host:port` → the map is stale: load it again, resend there. `-ASK slot host:port` → `ASKING`
    /// then the command, there, once.
    private func followRedirections(
        _ commands: [RedisCommand], _ replies: [RESPValue], attempt: Int
    ) -> EventLoopFuture<[RESPValue]> {
        var redirected: [(index: Int, ask: Bool, host: String, port: Int)] = []
        for (i, reply) in replies.enumerated() {
            guard case .error(let message) = reply else { continue }
            let words = message.split(separator: " ")
            guard words.count == 3, words[0] == "MOVED" || words[0] == "ASK",
                let colon = words[2].lastIndex(of: ":"), let port = Int(words[2][words[2].index(after: colon)...])
            else { continue }
            redirected.append((i, words[0] == "ASK", String(words[2][..<colon]), port))
        }
        guard !redirected.isEmpty, attempt < 3 else { return eventLoop.makeSucceededFuture(replies) }
        if redirected.contains(where: { !$0.ask }) { state.value.refreshWanted = true }
        let resent = redirected.map { r in
            let manager = manager(host: r.host, port: r.port)
            let command = commands[r.index]
            return manager.withConnection { connection in
                r.ask
                    ? connection.write([RedisCommand("ASKING"), command]).map { $0.last ?? .null }
                    : connection.write([command]).map { $0.first ?? .null }
            }.map { (r.index, $0) }
        }
        return EventLoopFuture.whenAllSucceed(resent, on: eventLoop).flatMap { results in
            var replies = replies
            for (i, value) in results { replies[i] = value }
            return self.followRedirections(commands, replies, attempt: attempt + 1)
        }
    }

    /// The managers of the masters in the current map (nil before it is loaded). On any task.
    var currentManagers: [RedisConnectionManager]? {
        get async {
            let managers = try? await eventLoop.submit { () -> [RedisConnectionManager]? in
                guard let map = self.state.value.map else { return nil }
                let masters = Set(map.masters)
                return self.state.value.managers.filter { masters.contains($0.key) }.map(\.value)
            }.get()
            return managers ?? nil
        }
    }

    /// Waits until `status` is connected, or throws what it is after `timeout`.
    func waitUntilConnected(timeout: Duration) async throws(RedisError) {
        let deadline = ContinuousClock.now + timeout
        while !(await status.isConnected) {
            guard ContinuousClock.now < deadline else {
                throw .notConnected(address: seed.address, lastError: "\(await status)")
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Connected when the map is loaded and every master's connection is up.
    var status: RedisConnectionStatus {
        get async {
            guard let managers = await currentManagers, !managers.isEmpty else { return .connecting }
            for manager in managers {
                let status = await manager.status
                if !status.isConnected { return status }
            }
            return await managers[0].status
        }
    }
}
