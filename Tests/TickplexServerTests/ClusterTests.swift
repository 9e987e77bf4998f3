import Foundation
import Synchronization
import Testing
import TickplexModel
import TickplexSimulator
import TickplexTestSupport

/// Several Tickplex processes on one real Redis and one simulated exchange: each wanted stream is subscribed
/// upstream by exactly one node, every client gets every message once, and a dead or paused owner's streams move.
/// Timing-sensitive and heavy (three processes): Scripts/test runs this suite on its own.
@Suite("Scale-out: several Tickplex processes on one Redis", .serialized)
struct ClusterTests {
    static let ttlMs = 3000
    static let trade = "tickplex.bybit.linear.trade.BTCUSDT"
    static let ticker = "tickplex.bybit.linear.ticker.BTCUSDT"

    struct Node: Sendable {
        let id: String
        let port: Int
        let process: TickplexProcess

        func stats() async throws -> [String: Any] {
            try #require(jsonObject(try await httpGet(port: port, "/stats").body))
        }

        func owned() async -> [String] {
            ((try? await stats())?["cluster"] as? [String: Any])?["owned"] as? [String] ?? []
        }
    }

    /// Starts Redis, the simulator and one process per role, runs `body`, then stops them all.
    static func withCluster(
        roles: [String], _ extra: [String: String] = [:], redisCluster: Bool = false,
        before: (ExchangeSimulator) async -> Void = { _ in },
        _ body: (ExchangeSimulator, [Node]) async throws -> Void
    ) async throws {
        let single = redisCluster ? nil : try await RedisServer.start()
        let cluster = redisCluster ? try await RedisClusterServers.start() : nil
        defer {
            single?.stop()
            cluster?.stop()
        }
        let redisURL = single?.url ?? cluster!.url
        let sim = try await ExchangeSimulator.start(.init())
        await before(sim)
        var nodes: [Node] = []
        do {
            for (i, role) in roles.enumerated() {
                var env = upstreamEnv(at: sim)
                env.merge([
                    "PORT": "0", "HOST": "127.0.0.1", "REDIS_URL": redisURL, "REDIS_CLUSTER": "\(redisCluster)",
                    "NODE_ID": "n\(i + 1)", "ROLE": role,
                    "LEASE_TTL_MS": "\(ttlMs)", "UPSTREAM_LINGER_S": "2", "SHUTDOWN_GRACE_S": "2",
                ]) { _, new in new }
                env.merge(extra) { _, new in new }
                let process = try TickplexProcess(environment: env)
                nodes.append(Node(id: "n\(i + 1)", port: try await process.waitForListening(), process: process))
            }
            try await body(sim, nodes)
        } catch {
            for node in nodes { node.process.signal(SIGKILL) }
            await sim.stop()
            throw error
        }
        for node in nodes where node.process.isRunning { node.process.signal(SIGTERM) }
        for node in nodes where !(await node.process.waitForExit(timeout: .seconds(6))) { node.process.signal(SIGKILL) }
        await sim.stop()
    }

    /// The `seq` of every data message of `stream` a client received, in arrival order.
    static func seqs(_ client: WireClient, _ stream: String) -> [Int] {
        client.data(for: stream).compactMap { ($0["seq"] as? NSNumber)?.intValue }
    }

    /// Each `seq` exactly one more than the one before: no duplicate and no gap.
    static func contiguous(_ seqs: [Int]) -> Bool {
        zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }
    }

    static func subscribeBoth(_ nodes: [Node]) -> [WireClient] {
        nodes.map { node in
            let client = WireClient(port: node.port)
            client.send(#"{"op":"subscribe","args":["trade:BTCUSDT","ticker:BTCUSDT"]}"#)
            return client
        }
    }

    /// The first node's client subscribes first (so that the first node owns both streams), then the others'.
    static func subscribeFirstOwning(_ nodes: [Node]) async throws -> [WireClient] {
        let first = subscribeBoth([nodes[0]])[0]
        #expect(
            await eventually(timeout: .seconds(20)) { seqs(first, trade).count >= 3 && seqs(first, ticker).count >= 1 })
        let owned = await nodes[0].owned()
        try #require(owned.contains(trade) && owned.contains(ticker), "\(owned)")
        return [first] + subscribeBoth(Array(nodes.dropFirst()))
    }

    /// The most connections the exchange ever saw holding one topic at the same moment.
    static func mostAtOnce(_ sim: ExchangeSimulator, _ topic: String) async -> Int {
        (await sim.connections()).maxConcurrentSubscriptions()["bybit.linear \(topic)"] ?? 0
    }

    @Test(
        "a client on each of three nodes: every message once, in seq order; each topic subscribed upstream once",
        arguments: [false, true])
    func exactlyOnce(redisCluster: Bool) async throws {
        try await Self.withCluster(roles: ["all", "all", "all"], redisCluster: redisCluster) { sim, nodes in
            let clients = Self.subscribeBoth(nodes)
            #expect(
                await eventually(timeout: .seconds(20)) {
                    clients.allSatisfy {
                        Self.seqs($0, Self.trade).count >= 40 && Self.seqs($0, Self.ticker).count >= 20
                    }
                })
            for (client, node) in zip(clients, nodes) {
                let trades = Self.seqs(client, Self.trade)
                #expect(Self.contiguous(trades), "\(node.id) trades: \(trades)")
                #expect(Self.contiguous(Self.seqs(client, Self.ticker)), "\(node.id) tickers")
            }
            // The same bytes under the same seq everywhere: one publisher.
            let texts = clients.map { client in
                Dictionary(
                    client.box.received.withLock { $0 }.compactMap { text -> (Int, String)? in
                        guard let m = jsonObject(text), m["stream"] as? String == Self.trade,
                            let seq = (m["seq"] as? NSNumber)?.intValue
                        else { return nil }
                        return (seq, text)
                    }, uniquingKeysWith: { a, _ in a })
            }
            var compared = 0
            for other in texts.dropFirst() {
                for (seq, text) in other {
                    guard let mine = texts[0][seq] else { continue }
                    #expect(mine == text, "seq \(seq)")
                    compared += 1
                }
            }
            #expect(compared >= 40)
            #expect(await Self.mostAtOnce(sim, "publicTrade.BTCUSDT") == 1)
            #expect(await Self.mostAtOnce(sim, "tickers.BTCUSDT") == 1)
            let subscribes = await sim.connections().flatMap(\.requests).filter {
                $0.contains(#""op":"subscribe""#) && $0.contains("publicTrade.BTCUSDT")
            }
            #expect(subscribes.count == 1, "\(subscribes)")
            // /stats: one node owns both streams; the others only serve them.
            var owners: [String] = []
            for node in nodes {
                let cluster = try #require(try await node.stats()["cluster"] as? [String: Any])
                let owned = cluster["owned"] as? [String] ?? []
                let served = cluster["served"] as? [String] ?? []
                if owned.contains(Self.trade) { owners.append(node.id) }
                #expect(Set(owned + served).isSuperset(of: [Self.trade, Self.ticker]), "\(node.id): \(cluster)")
                #expect(cluster["role"] as? String == "all")
            }
            #expect(owners.count == 1, "\(owners)")
            // The REST quote on every node: the ticker the one owner stored.
            for node in nodes {
                let quote = try await httpGet(port: node.port, "/v1/quote/BTCUSDT")
                #expect(quote.status == 200, "\(node.id): \(quote.body)")
                #expect(jsonObject(quote.body)?["stream"] as? String == Self.ticker)
            }
            // Klines and the catalogue work the same (on a cluster too).
            let klines = try await httpGet(port: nodes[1].port, "/v1/klines?symbol=BTCUSDT&interval=1m&limit=5")
            #expect(klines.status == 200, "\(klines.body)")
            #expect((jsonObject(klines.body)?["candles"] as? [Any])?.isEmpty == false)
            for node in nodes {
                let health = try #require(jsonObject(try await httpGet(port: node.port, "/health").body))
                #expect(health["status"] as? String == "healthy", "\(node.id): \(health)")
                let cluster = health["cluster"] as? [String: Any]
                #expect(cluster?["role"] as? String == "all" && cluster?["redisCluster"] as? Bool == redisCluster)
                let catalogue = health["catalogue"] as? [String: [String: Any]] ?? [:]
                #expect((catalogue["bybit.linear"]?["symbols"] as? Int ?? 0) > 0, "\(catalogue)")
            }
        }
    }

    @Test("kill -9 of the owner: flowing again within 2 × LEASE_TTL_MS, status then snapshot, never two at once")
    func ownerKilled() async throws {
        try await Self.withCluster(roles: ["all", "all", "all"]) { sim, nodes in
            let clients = try await Self.subscribeFirstOwning(nodes)
            #expect(
                await eventually(timeout: .seconds(20)) { clients.allSatisfy { Self.seqs($0, Self.trade).count >= 10 } }
            )
            let owner = 0
            let survivors = clients.indices.filter { $0 != owner }.map { clients[$0] }
            let before = survivors.map { $0.box.received.withLock { $0.count } }
            let killedAt = Date().timeIntervalSince1970 * 1000
            nodes[owner].process.signal(SIGKILL)
            // Flowing again: a new trade reaches every surviving client.
            let lastSeqAtKill = survivors.map { Self.seqs($0, Self.trade).last ?? 0 }
            #expect(
                await eventually(timeout: .seconds(20)) {
                    zip(survivors, lastSeqAtKill).allSatisfy { client, seq in
                        (Self.seqs(client, Self.trade).last ?? 0) > seq + 2
                    }
                })
            for (client, count) in zip(survivors, before) {
                let (texts, arrivals) = (client.box.received.withLock { $0 }, client.box.arrivals.withLock { $0 })
                let after = Array(texts.dropFirst(count).compactMap(jsonObject))
                // The first trade after the kill, and how long the stream was dark.
                let firstTrade = try #require(
                    zip(texts.dropFirst(count), arrivals.dropFirst(count)).first { text, _ in
                        jsonObject(text)?["stream"] as? String == Self.trade
                    })
                #expect(
                    firstTrade.1 - killedAt <= Double(2 * Self.ttlMs),
                    "dark for \(Int(firstTrade.1 - killedAt)) ms (lease TTL \(Self.ttlMs) ms)")
                // The takeover is announced, then the ticker comes as a snapshot.
                let status = after.firstIndex {
                    $0["op"] as? String == "status" && $0["state"] as? String == "failover"
                }
                let statusAt = try #require(status, "\(after.prefix(5))")
                let snapshot = after.firstIndex {
                    $0["stream"] as? String == Self.ticker && $0["type"] as? String == "snapshot"
                }
                #expect(snapshot.map { $0 > statusAt } == true)
                // The sequence runs on across owners: no duplicate, no gap.
                #expect(Self.contiguous(Self.seqs(client, Self.trade)), "\(Self.seqs(client, Self.trade))")
                #expect(Self.contiguous(Self.seqs(client, Self.ticker)))
            }
            #expect(await Self.mostAtOnce(sim, "publicTrade.BTCUSDT") == 1)
            #expect(await Self.mostAtOnce(sim, "tickers.BTCUSDT") == 1)
        }
    }

    @Test("a paused owner (SIGSTOP past its lease, then SIGCONT): no duplicate reaches any client")
    func ownerPaused() async throws {
        try await Self.withCluster(roles: ["all", "all", "all"]) { sim, nodes in
            let clients = try await Self.subscribeFirstOwning(nodes)
            #expect(
                await eventually(timeout: .seconds(20)) { clients.allSatisfy { Self.seqs($0, Self.trade).count >= 10 } }
            )
            let owner = 0
            let paused = nodes[owner]
            paused.process.signal(SIGSTOP)
            let survivors = clients.indices.filter { $0 != owner }.map { clients[$0] }
            #expect(
                await eventually(timeout: .seconds(20)) {
                    survivors.allSatisfy { !$0.replies("status").isEmpty }
                }, "taken over while the owner is paused")
            try await Task.sleep(for: .seconds(1))
            paused.process.signal(SIGCONT)
            // The paused node finds its lease gone, stops publishing and unsubscribes; its own client goes on.
            #expect(await eventually(timeout: .seconds(15)) { await !paused.owned().contains(Self.trade) })
            let pausedClient = clients[owner]
            let atResume = Self.seqs(pausedClient, Self.trade).count
            #expect(
                await eventually(timeout: .seconds(15)) { Self.seqs(pausedClient, Self.trade).count > atResume + 10 })
            try await Task.sleep(for: .seconds(2))
            for (client, node) in zip(clients, nodes) {
                let trades = Self.seqs(client, Self.trade)
                #expect(Set(trades).count == trades.count, "\(node.id): a duplicate in \(trades)")
                #expect(zip(trades, trades.dropFirst()).allSatisfy { $0 < $1 }, "\(node.id): out of order")
                let tickers = Self.seqs(client, Self.ticker)
                #expect(Set(tickers).count == tickers.count, "\(node.id): a duplicate ticker")
            }
            for client in survivors { #expect(Self.contiguous(Self.seqs(client, Self.trade))) }
            let pausedCluster = try #require(try await paused.stats()["cluster"] as? [String: Any])
            #expect(pausedCluster["leasesLost"] as? Int ?? 0 >= 1)
            // What it read from the exchange after waking was fenced, not published: no node even saw a duplicate.
            #expect(pausedCluster["fencedEvents"] as? Int ?? 0 >= 1, "\(pausedCluster)")
            for node in nodes {
                let cluster = try #require(try await node.stats()["cluster"] as? [String: Any])
                #expect(cluster["duplicatesDropped"] as? Int == 0, "\(node.id): \(cluster)")
            }
            // Once resumed, the old owner let the topic go: at most the paused moment held it twice.
            #expect(
                await eventually {
                    await sim.openConnections().filter { $0.subscribed.contains("publicTrade.BTCUSDT") }.count == 1
                })
        }
    }

    @Test("every client leaves every node: one upstream unsubscribe, after the linger")
    func allLeave() async throws {
        try await Self.withCluster(roles: ["all", "all", "all"]) { sim, nodes in
            let clients = nodes.map { node in
                let client = WireClient(port: node.port)
                client.send(#"{"op":"subscribe","args":["trade:ETHUSDT"]}"#)
                return client
            }
            let stream = "tickplex.bybit.linear.trade.ETHUSDT"
            #expect(await eventually(timeout: .seconds(20)) { clients.allSatisfy { !$0.data(for: stream).isEmpty } })
            let unsubscribes: @Sendable () async -> Int = {
                await sim.connections().flatMap(\.requests).filter {
                    $0.contains(#""op":"unsubscribe""#) && $0.contains("publicTrade.ETHUSDT")
                }.count
            }
            // One leaves, then another: the third still wants it, so nothing is unsubscribed.
            clients[0].close()
            clients[1].close()
            try await Task.sleep(for: .seconds(4))
            #expect(await unsubscribes() == 0)
            let lastLeft = ContinuousClock.now
            clients[2].close()
            #expect(await eventually(timeout: .seconds(15)) { await unsubscribes() == 1 })
            #expect(ContinuousClock.now - lastLeft >= .seconds(2), "not before the linger (2 s)")
            try await Task.sleep(for: .seconds(3))
            #expect(await unsubscribes() == 1, "exactly one")
            #expect(await Self.mostAtOnce(sim, "publicTrade.ETHUSDT") == 1)
            // The lease is given back once nobody wants the stream.
            #expect(await eventually { await nodes.asyncAllSatisfy { await !$0.owned().contains(stream) } })
        }
    }

    @Test("ROLE=ingest + two ROLE=edge: the same delivery as ROLE=all; edges never connect upstream")
    func edgeAndIngest() async throws {
        try await Self.withCluster(roles: ["ingest", "edge", "edge"]) { sim, nodes in
            let clients = Self.subscribeBoth(Array(nodes.dropFirst()))
            #expect(
                await eventually(timeout: .seconds(20)) {
                    clients.allSatisfy {
                        Self.seqs($0, Self.trade).count >= 30 && Self.seqs($0, Self.ticker).count >= 10
                    }
                })
            for client in clients {
                #expect(Self.contiguous(Self.seqs(client, Self.trade)))
                #expect(Self.contiguous(Self.seqs(client, Self.ticker)))
            }
            #expect(await Self.mostAtOnce(sim, "publicTrade.BTCUSDT") == 1)
            #expect(await nodes[0].owned().contains(Self.trade), "the ingest node carries it")
            for edge in nodes.dropFirst() {
                let stats = try await edge.stats()
                #expect((stats["cluster"] as? [String: Any])?["owned"] as? [String] == [])
                let upstreams = stats["upstreams"] as? [String: [String: Any]] ?? [:]
                #expect(upstreams.values.allSatisfy { ($0["connections"] as? [Any])?.isEmpty ?? true }, "\(upstreams)")
            }
            // The ingest node serves no clients: no WebSocket upgrade, no quote.
            #expect(try await httpGet(port: nodes[0].port, "/v1/quote/BTCUSDT").status == 404)
            #expect(try await httpGet(port: nodes[0].port, "/health").status != 404)
            // A quote on an edge node comes from the ingest node's stream.
            #expect(try await httpGet(port: nodes[1].port, "/v1/quote/BTCUSDT").status == 200)
        }
    }
}

extension ClusterTests {
    @Test("the exchange refuses a stream held by another node: the edge's client hears the exchange's words")
    func refusalRelayed() async throws {
        let listOnRESTOnly: (ExchangeSimulator) async -> Void = { sim in await sim.list("NOTASYMBOL", on: .bybitLinear)
        }
        try await Self.withCluster(roles: ["ingest", "edge"], before: listOnRESTOnly) { sim, nodes in
            let client = WireClient(port: nodes[1].port)
            client.send(#"{"op":"subscribe","args":["trade:NOTASYMBOL"]}"#)
            #expect(await eventually(timeout: .seconds(15)) { !client.replies("subscription_error").isEmpty })
            let error = try #require(client.replies("subscription_error").first)
            #expect(error["arg"] as? String == "trade:NOTASYMBOL")
            #expect(error["reason"] as? String == "error:handler not found,topic:publicTrade.NOTASYMBOL")
            // The edge node never asked the exchange: the ingest node did, once.
            let asks = await sim.connections().flatMap(\.requests).filter { $0.contains("publicTrade.NOTASYMBOL") }
            #expect(asks.count == 1, "\(asks)")
            // Nobody wants it any more: the lease goes back.
            #expect(await eventually(timeout: .seconds(15)) { await nodes[0].owned().isEmpty })
        }
    }

    @Test(
        "SIGTERM of the owner: it unsubscribes and hands its leases back; another node carries on well within the TTL")
    func ownerStopped() async throws {
        try await Self.withCluster(roles: ["all", "all"], ["LEASE_TTL_MS": "20000"]) { sim, nodes in
            let clients = try await Self.subscribeFirstOwning(nodes)
            #expect(
                await eventually(timeout: .seconds(20)) { clients.allSatisfy { Self.seqs($0, Self.trade).count >= 5 } })
            let stoppedAt = ContinuousClock.now
            nodes[0].process.signal(SIGTERM)
            let last = Self.seqs(clients[1], Self.trade).last ?? 0
            #expect(
                await eventually(timeout: .seconds(15)) { (Self.seqs(clients[1], Self.trade).last ?? 0) > last + 2 })
            #expect(ContinuousClock.now - stoppedAt < .seconds(10), "handed over, not waited out (TTL 20 s)")
            #expect(Self.contiguous(Self.seqs(clients[1], Self.trade)))
            #expect(!clients[1].replies("status").filter { $0["state"] as? String == "failover" }.isEmpty)
            #expect(await Self.mostAtOnce(sim, "publicTrade.BTCUSDT") == 1)
            #expect(await nodes[1].owned().contains(Self.trade))
        }
    }
}

extension Array where Element: Sendable {
    func asyncAllSatisfy(_ predicate: (Element) async -> Bool) async -> Bool {
        for element in self where !(await predicate(element)) { return false }
        return true
    }
}
