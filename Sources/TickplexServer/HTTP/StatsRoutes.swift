import Foundation
import Hummingbird
import TickplexCore
import TickplexRedis
import TickplexUpstream

/// The `/stats` document: what the node is doing now.
struct NodeStats: Encodable, Sendable {
    struct Messages: Encodable, Sendable {
        var inPerSecond: Double
        var outPerSecond: Double
        var inTotal: Int
        var outTotal: Int
    }
    struct Venue: Encodable, Sendable {
        var connections: [HealthReport.UpstreamConnectionReport]
        var live: Int
    }
    struct Redis: Encodable, Sendable {
        var commands: String
        var subscriber: String
    }

    var version: String
    var uptimeSeconds: Int
    var simulated: Bool
    var bus: String
    var clients: Int
    var subscriptions: Int
    var streams: Int
    var messages: Messages
    /// Ticker/book frames replaced by a newer one for a client that fell behind.
    var conflated: Int
    /// Conflatable frames that did not fit even after conflation (superseded by the next).
    var dropped: Int
    var slowConsumerCloses: Int
    /// Events that could not be stored or published while the bus was down.
    var publishFailures: Int
    var upstreams: [String: Venue]
    var redis: Redis?
}

struct StatsRoutes: Sendable {
    let collect: @Sendable () async -> NodeStats

    func register(on router: Router<some RequestContext>) {
        router.get("/stats") { _, _ in JSONResponse.make(.ok, await collect()) }
        MethodNotAllowed.register("/stats", allow: "GET", on: router)
    }
}
